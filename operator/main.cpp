#include <iostream>

#include "cli/app.h"

int main(int argc, char** argv) { return certguard::cli::Main(argc, argv, std::cout, std::cerr); }
