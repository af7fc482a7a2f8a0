// A lower layer that includes a higher one: refused.
#pragma once

#include "x509/b.h"
