#pragma once
// The object header and the owning reference (Include/object.h): Object,
// Container, Ref<T>, incref and decref, in detail/object.hpp; and what a
// decref to 0 calls, which needs the heap (heap.hpp).
#include "pyconc/runtime/detail/object.hpp"
#include "pyconc/runtime/heap.hpp"
