#!/usr/bin/env python3
"""Writes a synthetic Breakpad .sym of about SIZE_MB megabytes built from real records.

Every FILE, INLINE_ORIGIN, FUNC, line, INLINE, PUBLIC, STACK CFI and STACK WIN record of the corpus
store (../shared/testdata/symbols) is replicated with addresses shifted into a fresh range per copy
and ids renumbered, so the result looks like one huge module (libxul-sized). Function and public
names get a per-copy suffix so that string interning cannot fold the copies together.

usage: make_synthetic_sym.py STORE OUT.sym SIZE_MB
"""
import os
import sys


def sym_files(store):
    out = []
    for root, _, files in os.walk(store):
        out += [os.path.join(root, f) for f in files if f.endswith(".sym")]
    return sorted(out)


def main():
    store, out_path, size_mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
    target = size_mb << 20
    files = sym_files(store)
    written = 0
    base = 0x1000
    file_id = 0
    origin_id = 0
    copy = 0
    with open(out_path, "w", encoding="utf-8", errors="surrogateescape") as out:
        out.write("MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 synthetic.so\n")
        out.write("INFO CODE_ID 0123456789ABCDEF0123456789ABCDEF\n")
        while written < target:
            for path in files:
                if written >= target:
                    break
                suffix = "" if copy == 0 else "_r%d" % copy
                file_map, origin_map = {}, {}
                top = 0
                chunk = []
                with open(path, encoding="utf-8", errors="surrogateescape") as f:
                    for line in f:
                        line = line.rstrip("\r\n")
                        p = line.split(" ")
                        k = p[0]
                        try:
                            if k == "FILE":
                                file_map[p[1]] = str(file_id)
                                chunk.append("FILE %d %s" % (file_id, " ".join(p[2:])))
                                file_id += 1
                            elif k == "INLINE_ORIGIN":
                                origin_map[p[1]] = str(origin_id)
                                chunk.append("INLINE_ORIGIN %d %s" % (origin_id, " ".join(p[2:])))
                                origin_id += 1
                            elif k == "FUNC":
                                m = p[1] == "m"
                                i = 2 if m else 1
                                a = int(p[i], 16) + base
                                top = max(top, a + int(p[i + 1], 16))
                                chunk.append("FUNC %s%x %s %s %s%s" % ("m " if m else "", a, p[i + 1], p[i + 2],
                                                                        " ".join(p[i + 3:]), suffix))
                            elif k == "PUBLIC":
                                m = p[1] == "m"
                                i = 2 if m else 1
                                a = int(p[i], 16) + base
                                top = max(top, a + 1)
                                chunk.append("PUBLIC %s%x %s %s%s" % ("m " if m else "", a, p[i + 1],
                                                                      " ".join(p[i + 2:]), suffix))
                            elif k == "INLINE":
                                n = len(p) - 1
                                has_file = n % 2 == 0
                                head = p[1:5] if has_file else p[1:4]
                                if has_file:
                                    head[2] = file_map.get(head[2], head[2])
                                head[-1] = origin_map.get(head[-1], head[-1])
                                rng = p[5:] if has_file else p[4:]
                                rng = ["%x" % (int(v, 16) + base) if j % 2 == 0 else v for j, v in enumerate(rng)]
                                chunk.append("INLINE " + " ".join(head + rng))
                            elif k == "STACK" and p[1] == "CFI":
                                if p[2] == "INIT":
                                    a = int(p[3], 16) + base
                                    top = max(top, a + int(p[4], 16))
                                    chunk.append("STACK CFI INIT %x %s" % (a, " ".join(p[4:])))
                                else:
                                    chunk.append("STACK CFI %x %s" % (int(p[2], 16) + base, " ".join(p[3:])))
                            elif k == "STACK" and p[1] == "WIN":
                                a = int(p[3], 16) + base
                                top = max(top, a + int(p[4], 16))
                                chunk.append("STACK WIN %s %x %s" % (p[2], a, " ".join(p[4:])))
                            elif k in ("MODULE", "INFO") or not line:
                                continue
                            else:  # line record
                                a = int(p[0], 16) + base
                                chunk.append("%x %s %s %s" % (a, p[1], p[2], file_map.get(p[3], p[3])))
                        except (IndexError, ValueError):
                            continue
                text = "\n".join(chunk) + "\n"
                out.write(text)
                written += len(text)
                base = (top + 0x10000) & ~0xfff
            copy += 1
    print("wrote %s: %.1f MB, %d copies of the corpus records" % (out_path, written / 1048576.0, copy))


if __name__ == "__main__":
    main()
