#!/usr/bin/env python3
"""Writes a zip of many .sym files laid out as a symbol store, about SIZE_MB megabytes of .sym text:
copies of every corpus .sym (../shared/testdata/symbols), each copy under a debug id of its own
(the MODULE record's id with the copy number in its last hex digits), as a build's symbols.zip is.

usage: make_upload_zip.py STORE OUT.zip SIZE_MB
"""
import os
import sys
import zipfile


def main():
    store, out_path, size_mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
    files = []
    for root, _, names in os.walk(store):
        files += [os.path.join(root, n) for n in names if n.endswith(".sym")]
    files.sort()
    texts = [open(f, "rb").read() for f in files]
    target = size_mb << 20
    written = 0
    copy = 0
    with zipfile.ZipFile(out_path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        while written < target:
            for text in texts:
                first, rest = text.split(b"\n", 1)
                parts = first.decode("utf-8", "replace").rstrip("\r").split(" ", 4)
                if len(parts) < 5 or parts[0] != "MODULE":
                    continue
                debug_id = parts[3][:-6] + "%06X" % copy
                name = parts[4]
                sym_name = name[:-4] + ".sym" if name.lower().endswith(".pdb") else name + ".sym"
                body = " ".join(parts[:3] + [debug_id, name]).encode() + b"\n" + rest
                zf.writestr(f"{name}/{debug_id}/{sym_name}", body)
                written += len(body)
                if written >= target:
                    break
            copy += 1
    print(f"{out_path}: {written >> 20} MB of .sym text in {copy} copies of {len(texts)} files")


main()
