/**
 * @file athanor/athanor.h
 * @brief The whole public API of athanor: include this one header.
 */
#ifndef ATHANOR_ATHANOR_H
#define ATHANOR_ATHANOR_H

#include "common.h"
#include "errors.h"
#include "types.h"
#include "engine.h"
#include "conn.h"
#include "result.h"
#include "metadata.h"
#include "orm.h"

#endif
