// A relative path around the layer check: refused.
#pragma once

#include "../csr/b.h"
