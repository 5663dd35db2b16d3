#!/usr/bin/env python3
"""Self and inclusive instruction counts per function from a callgrind dump (callgrind_annotate
3.19 mis-attributes everything to `clone` on these dumps). Usage: selfcost.py DUMP [CALLS] [TOP]"""
import collections, re, subprocess, sys

path = sys.argv[1]
calls = int(sys.argv[2]) if len(sys.argv) > 2 else 1
top = int(sys.argv[3]) if len(sys.argv) > 3 else 60
names, self_cost, incl_calls = {}, collections.Counter(), collections.Counter()
fn = None
after_calls = False
cfn = None
def name(spec):
    m = re.match(r'\((\d+)\)\s*(.*)', spec)
    if not m:
        return spec
    if m.group(2):
        names[m.group(1)] = m.group(2)
    return names.get(m.group(1), spec)
total = 0
for line in open(path):
    if line.startswith('fn='):
        fn = name(line[3:].strip())
    elif line.startswith('cfn='):
        cfn = name(line[4:].strip())
    elif line.startswith('calls='):
        after_calls = True
    elif line and (line[0].isdigit() or line[0] in '+-*'):
        parts = line.split()
        if len(parts) >= 2:
            c = int(parts[1])
            if after_calls:
                incl_calls[cfn] += c
                after_calls = False
            else:
                self_cost[fn] += c
                total += c
    elif line.startswith(('cfi=', 'cfl=', 'cob=', 'ob=', 'fl=', 'fi=', 'fe=')):
        pass
syms = list(self_cost.most_common(top))
demangled = {}
try:
    out = subprocess.run(['swift', 'demangle', '--simplified'], input='\n'.join(s for s, _ in syms),
                         capture_output=True, text=True).stdout.splitlines()
    demangled = dict(zip([s for s, _ in syms], out))
except Exception:
    pass
print(f'total self Ir {total:,}  per call {total / calls:,.0f}')
for s, c in syms:
    print(f'{c / calls:9,.0f} {100 * c / total:5.1f}%  {demangled.get(s, s)[:170]}')
