// kubelet-certs runs the kubelet's own certificate code for one or more nodes,
// without the rest of the kubelet (no container runtime, no pods): exactly the
// code path of `kubelet --bootstrap-kubeconfig ... --rotate-certificates` with
// `serverTLSBootstrap: true`, from k8s.io/kubernetes at the pinned version:
//
//   - bootstrap.LoadClientConfig and the client certificate manager that
//     cmd/kubelet builds (buildClientCertificateManager, repeated below because
//     it lives in package main there), with certificate.UpdateTransport;
//   - Node registration with the node's own client, then its addresses in
//     status, as the kubelet's first status update writes them;
//   - certificate.NewKubeletServerCertificateManager with those addresses, and
//     a TLS listener whose GetCertificate is the manager's Current(), as the
//     kubelet's server does.
//
// Usage:
//
//	kubelet-certs -bootstrap-kubeconfig F -dir D [-serve] -node NAME=IP[,IP|DNS...] ...
//
// For each node it keeps D/NAME/ (kubeconfig, pki/) and rewrites D/NAME/status.json
// whenever its certificates change: the client and serving certificate's
// serial, notBefore and notAfter, how many each has had, and the serving port.
// It runs until SIGTERM or SIGINT.
//
// One process plays many kubelets: the kubelet registers its metrics in a
// process-wide registry, so repeated registrations are ignored here, and the
// transport's exit-after-expiry (which ends the whole process) is off unless
// -exit-after is set.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	clientset "k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/util/certificate"
	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/klog/v2"
	kubeletconfig "k8s.io/kubernetes/pkg/kubelet/apis/config"
	kubeletcertificate "k8s.io/kubernetes/pkg/kubelet/certificate"
	"k8s.io/kubernetes/pkg/kubelet/certificate/bootstrap"
	netutils "k8s.io/utils/net"
)

type nodeFlags []string

func (n *nodeFlags) String() string     { return strings.Join(*n, " ") }
func (n *nodeFlags) Set(v string) error { *n = append(*n, v); return nil }

type certStatus struct {
	Serial    string `json:"serial"`
	NotBefore string `json:"notBefore"`
	NotAfter  string `json:"notAfter"`
	Count     int    `json:"count"` // distinct certificates seen since start
}

type status struct {
	Node    string      `json:"node"`
	Client  *certStatus `json:"client"`
	Serving *certStatus `json:"serving"`
	Port    int         `json:"port"`
	Error   string      `json:"error,omitempty"`
}

type node struct {
	name      string
	addresses []v1.NodeAddress
	dir       string

	mu sync.Mutex
	st status
	// Held across a whole write: two goroutines renaming one temporary file
	// could otherwise leave an older state in place last.
	writeMu sync.Mutex
}

func (n *node) write() {
	n.writeMu.Lock()
	defer n.writeMu.Unlock()
	n.mu.Lock()
	data, _ := json.Marshal(n.st)
	n.mu.Unlock()
	tmp := filepath.Join(n.dir, "status.json.tmp")
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err == nil {
		_ = os.Rename(tmp, filepath.Join(n.dir, "status.json"))
	}
}

func (n *node) fail(format string, args ...any) {
	n.mu.Lock()
	n.st.Error = fmt.Sprintf(format, args...)
	n.mu.Unlock()
	n.write()
	klog.Errorf("%s: %s", n.name, n.st.Error)
}

// track records the certificate a manager holds whenever it changes.
func (n *node) track(ctx context.Context, m certificate.Manager, field **certStatus, kind string) {
	last := ""
	wait.Until(func() {
		c := m.Current()
		if c == nil || c.Leaf == nil {
			return
		}
		serial := c.Leaf.SerialNumber.Text(16)
		if serial == last {
			return
		}
		last = serial
		n.mu.Lock()
		count := 1
		if *field != nil {
			count = (*field).Count + 1
		}
		*field = &certStatus{Serial: serial, NotBefore: c.Leaf.NotBefore.UTC().Format(time.RFC3339),
			NotAfter: c.Leaf.NotAfter.UTC().Format(time.RFC3339), Count: count}
		n.mu.Unlock()
		n.write()
		fmt.Printf("%s %s certificate %s, valid until %s\n", n.name, kind, serial,
			c.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}, 200*time.Millisecond, ctx.Done())
}

func parseNode(spec, root string) (*node, error) {
	name, addrs, ok := strings.Cut(spec, "=")
	if !ok || name == "" {
		return nil, fmt.Errorf("-node %q: want NAME=IP[,IP|DNS...]", spec)
	}
	n := &node{name: name, dir: filepath.Join(root, name)}
	n.st.Node = name
	n.addresses = append(n.addresses, v1.NodeAddress{Type: v1.NodeHostName, Address: name})
	for _, a := range strings.Split(addrs, ",") {
		switch {
		case a == "":
		case netutils.ParseIPSloppy(a) != nil:
			n.addresses = append(n.addresses, v1.NodeAddress{Type: v1.NodeInternalIP, Address: a})
		default:
			n.addresses = append(n.addresses, v1.NodeAddress{Type: v1.NodeInternalDNS, Address: a})
		}
	}
	return n, os.MkdirAll(filepath.Join(n.dir, "pki"), 0o700)
}

// As cmd/kubelet/app.buildClientCertificateManager.
func buildClientCertificateManager(certConfig, clientConfig *restclient.Config, certDir string,
	nodeName types.NodeName) (certificate.Manager, error) {
	newClientsetFn := func(current *tls.Certificate) (clientset.Interface, error) {
		config := certConfig
		if current != nil {
			config = clientConfig
		}
		return clientset.NewForConfig(config)
	}
	return kubeletcertificate.NewKubeletClientCertificateManager(certDir, nodeName,
		clientConfig.CertData, clientConfig.KeyData, clientConfig.CertFile, clientConfig.KeyFile, newClientsetFn)
}

// register creates the Node with the node's own credentials, as the kubelet
// does, and writes its addresses into status.
func register(ctx context.Context, client clientset.Interface, n *node) error {
	obj := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.name,
		Labels: map[string]string{"kubernetes.io/hostname": n.name}}}
	if _, err := client.CoreV1().Nodes().Create(ctx, obj, metav1.CreateOptions{}); err != nil &&
		!apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating Node: %w", err)
	}
	patch, _ := json.Marshal(map[string]any{"status": map[string]any{"addresses": n.addresses}})
	_, err := client.CoreV1().Nodes().PatchStatus(ctx, n.name, patch)
	return err
}

func run(ctx context.Context, n *node, bootstrapKubeconfig string, serve bool, exitAfter time.Duration) {
	nodeName := types.NodeName(n.name)
	certDir := filepath.Join(n.dir, "pki")
	certConfig, clientConfig, err := bootstrap.LoadClientConfig(filepath.Join(n.dir, "kubeconfig"),
		bootstrapKubeconfig, certDir)
	if err != nil {
		n.fail("loading the client config: %v", err)
		return
	}
	clientManager, err := buildClientCertificateManager(certConfig, clientConfig, certDir, nodeName)
	if err != nil {
		n.fail("client certificate manager: %v", err)
		return
	}
	transportConfig := restclient.AnonymousClientConfig(clientConfig)
	if _, err := kubeletcertificate.UpdateTransport(ctx.Done(), transportConfig, clientManager, exitAfter); err != nil {
		n.fail("client transport: %v", err)
		return
	}
	clientManager.Start()
	defer clientManager.Stop()
	go n.track(ctx, clientManager, &n.st.Client, "client")

	// The kubelet registers once it can authenticate as the node.
	if err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(context.Context) (bool, error) {
		return clientManager.Current() != nil, nil
	}); err != nil {
		return
	}
	kubeClient, err := clientset.NewForConfig(transportConfig)
	if err != nil {
		n.fail("node client: %v", err)
		return
	}
	_ = wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		if err := register(ctx, kubeClient, n); err != nil {
			klog.Warningf("%s: registering: %v", n.name, err)
			return false, nil
		}
		return true, nil
	})
	if !serve || ctx.Err() != nil {
		<-ctx.Done()
		return
	}

	serverManager, err := kubeletcertificate.NewKubeletServerCertificateManager(kubeClient,
		&kubeletconfig.KubeletConfiguration{ServerTLSBootstrap: true}, nodeName,
		func() []v1.NodeAddress { return n.addresses }, certDir)
	if err != nil {
		n.fail("server certificate manager: %v", err)
		return
	}
	serverManager.Start()
	defer serverManager.Stop()
	go n.track(ctx, serverManager, &n.st.Serving, "serving")

	// As the kubelet's server: the certificate of each handshake is the manager's current one.
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			if c := serverManager.Current(); c != nil {
				return c, nil
			}
			return nil, fmt.Errorf("no serving certificate available for the kubelet")
		}}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", tlsConfig)
	if err != nil {
		n.fail("listening: %v", err)
		return
	}
	n.mu.Lock()
	n.st.Port = ln.Addr().(*net.TCPAddr).Port
	n.mu.Unlock()
	n.write()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				if tc, ok := conn.(*tls.Conn); ok {
					_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
					if tc.Handshake() == nil {
						_, _ = tc.Write([]byte("ok\n"))
					}
				}
			}()
		}
	}()
	<-ctx.Done()
	_ = ln.Close()
}

func main() {
	var nodes nodeFlags
	bootstrapKubeconfig := flag.String("bootstrap-kubeconfig", "", "kubeconfig with bootstrap credentials (kubelet --bootstrap-kubeconfig)")
	dir := flag.String("dir", "", "state directory: D/NAME/{kubeconfig,pki,status.json}")
	serve := flag.Bool("serve", false, "also run the serving certificate manager and a TLS listener (serverTLSBootstrap)")
	exitAfter := flag.Duration("exit-after", 0, "exit when the client certificate stays expired this long (the kubelet uses 5m; 0: never)")
	flag.Var(&nodes, "node", "NAME=IP[,IP|DNS...] (repeatable): a kubelet and the addresses it reports")
	klog.InitFlags(nil)
	flag.Parse()
	if *bootstrapKubeconfig == "" || *dir == "" || len(nodes) == 0 {
		fmt.Fprintln(os.Stderr, "usage: kubelet-certs -bootstrap-kubeconfig F -dir D [-serve] -node NAME=IP[,...] ...")
		os.Exit(2)
	}

	// Many kubelets, one process: the second registration of a kubelet metric is not an error here.
	legacyregistry.MustRegister = func(cs ...metrics.Registerable) {
		for _, c := range cs {
			_ = legacyregistry.Register(c)
		}
	}
	legacyregistry.RawMustRegister = func(cs ...prometheus.Collector) {
		for _, c := range cs {
			_ = legacyregistry.Registerer().Register(c)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	var wg sync.WaitGroup
	for _, spec := range nodes {
		n, err := parseNode(spec, *dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "kubelet-certs:", err)
			os.Exit(2)
		}
		n.write()
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(ctx, n, *bootstrapKubeconfig, *serve, *exitAfter)
		}()
	}
	wg.Wait()
}
