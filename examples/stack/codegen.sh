#!/bin/sh
# A code generator: writes what the api serves, then exits 0.
mkdir -p generated
echo "generating the schema"
sleep 0.3
printf 'schema v1 (%s)\n' "$GREETING" > generated/schema.txt
echo "wrote generated/schema.txt"
