// A folder no certguard_layer() declares: refused.
#pragma once

#include "common/a.h"
