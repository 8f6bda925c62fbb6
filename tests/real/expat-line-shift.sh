#!/usr/bin/env bash
# expat-line-shift.sh OLD.so NEW.so FUNCTION... - tell, per function, whether
# its machine code differs between two builds only in immediates that all
# moved by the same small amount (assert()'s and accounting's __LINE__
# arguments after lines were added above the function), or in real code.
# Prints "FUNCTION lines+N" or "FUNCTION code" (or "FUNCTION missing").
# Addresses (call/jump targets, %rip offsets) are ignored: the functions
# sit at other addresses in the two builds.
set -euo pipefail
(($# >= 3)) || { echo "usage: expat-line-shift.sh OLD.so NEW.so FUNCTION..." >&2; exit 2; }
for f in "$1" "$2"; do [[ -f $f ]] || { echo "expat-line-shift: no file $f" >&2; exit 2; }; done
python3 - "$@" <<'EOF'
import re, subprocess, sys

def disassemble(path):
    text = subprocess.run(["objdump", "-d", "--no-show-raw-insn", path],
                          capture_output=True, text=True, check=True).stdout
    funcs, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
        if m:
            cur = funcs.setdefault(m.group(1), [])
            continue
        if cur is None or "\t" not in line:
            continue
        insn = re.sub(r"\s+#.*", "", line.split("\t", 1)[1])
        insn = re.sub(r"\b[0-9a-f]+ <([^>+]+)(\+0x[0-9a-f]+)?>", r"<\1\2>", insn)
        insn = re.sub(r"-?0x[0-9a-f]+\(%rip\)", "X(%rip)", insn)
        cur.append(insn.strip())
    return funcs

IMM = re.compile(r"mov\s+\$(0x[0-9a-f]+),(%\w+)$")
old, new = disassemble(sys.argv[1]), disassemble(sys.argv[2])
for name in sys.argv[3:]:
    a, b = old.get(name), new.get(name)
    if a is None or b is None:
        print(name, "missing")
        continue
    shifts = set()
    same_shape = len(a) == len(b)
    for x, y in zip(a, b):
        if x == y:
            continue
        mx, my = IMM.match(x), IMM.match(y)
        if not (mx and my and mx.group(2) == my.group(2)):
            same_shape = False
            break
        shifts.add(int(my.group(1), 16) - int(mx.group(1), 16))
    if same_shape and len(shifts) == 1 and 0 < next(iter(shifts)) < 100:
        print(name, "lines+%d" % next(iter(shifts)))
    else:
        print(name, "code")
EOF
