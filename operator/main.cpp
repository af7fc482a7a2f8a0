#include <iostream>

#include "cli/app.h"
#include "kube/http.h"

int main(int argc, char** argv) {
  certguard::kube::DeferSystemTrust();  // before any thread: it sets the environment
  return certguard::cli::Main(argc, argv, std::cout, std::cerr);
}
