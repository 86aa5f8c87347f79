# Writes IN as a C byte array: const char tg_default_policy_yaml[], plus its length.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUT} "/* Generated from ${IN}: do not edit. */\n#include <stddef.h>\n"
	"const char tg_default_policy_yaml[] = {${bytes} 0};\n"
	"const size_t tg_default_policy_yaml_len = ${len};\n")
