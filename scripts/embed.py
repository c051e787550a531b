"""Embed a file in C: embed.py INPUT OUTPUT SYMBOL. Writes
`const char SYMBOL[]` (NUL-terminated) and `const size_t SYMBOL_len`."""
import sys

src, out, sym = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(src, "rb").read()
lines = ["/* Generated from %s by scripts/embed.py: do not edit. */" % src,
         "#include <stddef.h>", "",
         "extern const char %s[];" % sym, "extern const size_t %s_len;" % sym,
         "const char %s[] = {" % sym]
for i in range(0, len(data), 16):
    lines.append("    " + ", ".join("0x%02x" % b for b in data[i:i + 16]) + ",")
lines += ["    0x00", "};", "const size_t %s_len = %d;" % (sym, len(data)), ""]
with open(out, "w") as f:
    f.write("\n".join(lines))
