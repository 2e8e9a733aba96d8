#!/bin/sh
echo "@GREETING@, ${1:-world}"
