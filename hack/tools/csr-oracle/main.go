// csr-oracle prints a PKCS#10 request as Go's crypto/x509 reads it: the parser
// kube-apiserver validates with and kube-controller-manager's kubelet signers
// sign from. Tests compare certguard's reading with this one.
//
//	csr-oracle FILE...   one JSON object per file (DER or PEM)
//	csr-oracle           the same for stdin
//	csr-oracle -stream   frames on stdin (4-byte big-endian length, then the
//	                     bytes), one JSON line per frame on stdout, until EOF
//
// Standard library only.
package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"
)

type attribute struct {
	Type  string  `json:"type"`
	Value *string `json:"value"` // null when Go kept no string (unknown string type)
}

type key struct {
	Alg   string `json:"alg"` // RSA, ECDSA, Ed25519, unknown
	Bits  int    `json:"bits"`
	Curve string `json:"curve"`
}

type result struct {
	OK          bool        `json:"ok"`
	Error       string      `json:"error,omitempty"`
	Subject     []attribute `json:"subject"`
	CN          string      `json:"cn"`
	O           []string    `json:"o"`
	DNS         []string    `json:"dns"`
	IPs         []string    `json:"ips"`
	Emails      []string    `json:"emails"`
	URIs        []string    `json:"uris"`
	Extensions  []string    `json:"extensions"`
	Key         key         `json:"key"`
	SignatureOK bool        `json:"signatureOK"`
}

func parse(input []byte) result {
	der := input
	if block, _ := pem.Decode(input); block != nil && bytes.HasPrefix(bytes.TrimSpace(input), []byte("-----BEGIN")) {
		der = block.Bytes
	}
	r := result{Subject: []attribute{}, O: []string{}, DNS: []string{}, IPs: []string{},
		Emails: []string{}, URIs: []string{}, Extensions: []string{}}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.OK = true
	for _, atv := range csr.Subject.Names {
		a := attribute{Type: atv.Type.String()}
		if s, ok := atv.Value.(string); ok {
			a.Value = &s
		}
		r.Subject = append(r.Subject, a)
	}
	r.CN = csr.Subject.CommonName
	r.O = append(r.O, csr.Subject.Organization...)
	r.DNS = append(r.DNS, csr.DNSNames...)
	for _, ip := range csr.IPAddresses {
		r.IPs = append(r.IPs, ip.String())
	}
	r.Emails = append(r.Emails, csr.EmailAddresses...)
	for _, u := range csr.URIs {
		r.URIs = append(r.URIs, u.String())
	}
	for _, e := range csr.Extensions {
		r.Extensions = append(r.Extensions, e.Id.String())
	}
	switch k := csr.PublicKey.(type) {
	case *rsa.PublicKey:
		r.Key = key{Alg: "RSA", Bits: k.N.BitLen()}
	case *ecdsa.PublicKey:
		r.Key = key{Alg: "ECDSA", Bits: k.Curve.Params().BitSize, Curve: k.Curve.Params().Name}
	case ed25519.PublicKey:
		r.Key = key{Alg: "Ed25519", Bits: 256}
	default:
		r.Key = key{Alg: "unknown"}
	}
	r.SignatureOK = csr.CheckSignature() == nil
	return r
}

func emit(w *bufio.Writer, r result) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := w.Write(append(line, '\n')); err != nil {
		return err
	}
	return w.Flush()
}

func stream(in io.Reader, w *bufio.Writer) error {
	br := bufio.NewReader(in)
	var header [4]byte
	for {
		if _, err := io.ReadFull(br, header[:]); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading frame length: %w", err)
		}
		n := binary.BigEndian.Uint32(header[:])
		if n > 16<<20 {
			return fmt.Errorf("frame of %d bytes is too large", n)
		}
		frame := make([]byte, n)
		if _, err := io.ReadFull(br, frame); err != nil {
			return fmt.Errorf("reading a frame of %d bytes: %w", n, err)
		}
		if err := emit(w, parse(frame)); err != nil {
			return err
		}
	}
}

func main() {
	w := bufio.NewWriter(os.Stdout)
	args := os.Args[1:]
	var err error
	switch {
	case len(args) == 1 && args[0] == "-stream":
		err = stream(os.Stdin, w)
	case len(args) == 0:
		var data []byte
		if data, err = io.ReadAll(os.Stdin); err == nil {
			err = emit(w, parse(data))
		}
	default:
		for _, name := range args {
			var data []byte
			if data, err = os.ReadFile(name); err != nil {
				break
			}
			if err = emit(w, parse(data)); err != nil {
				break
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "csr-oracle:", err)
		os.Exit(2)
	}
}
