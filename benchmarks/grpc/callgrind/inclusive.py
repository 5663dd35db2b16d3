#!/usr/bin/env python3
"""Inclusive cost and call counts per function (callers of a function, too) from a callgrind
dump. Usage: inclusive.py DUMP CALLS [REGEX]  -- REGEX filters (demangled) names."""
import collections, re, subprocess, sys
path, calls = sys.argv[1], int(sys.argv[2])
pat = re.compile(sys.argv[3]) if len(sys.argv) > 3 else None
names = {}
selfc, incl, ncalls = collections.Counter(), collections.Counter(), collections.Counter()
callers = collections.defaultdict(collections.Counter)
fn = cfn = None; after = 0
def nm(spec):
    m = re.match(r'\((\d+)\)\s*(.*)', spec)
    if m.group(2): names[m.group(1)] = m.group(2)
    return names[m.group(1)]
for line in open(path):
    if line.startswith('fn='): fn = nm(line[3:].strip())
    elif line.startswith('cfn='): cfn = nm(line[4:].strip())
    elif line.startswith('calls='): after = int(line.split()[0][6:])
    elif line[:1].isdigit() or line[:1] in '+-*':
        p = line.split()
        if len(p) < 2: continue
        c = int(p[1])
        if after:
            if cfn != fn: incl[fn] += c
            ncalls[cfn] += after; callers[cfn][fn] += after
            after = 0
        else:
            selfc[fn] += c; incl[fn] += c
allnames = list(incl)
dem = dict(zip(allnames, subprocess.run(['swift', 'demangle', '--simplified'], input='\n'.join(allnames), capture_output=True, text=True).stdout.splitlines()))
rows = [(incl[f], f) for f in allnames if not pat or pat.search(dem[f])]
rows.sort(reverse=True)
for c, f in rows[:int(sys.argv[4]) if len(sys.argv) > 4 else 50]:
    print(f'incl {c / calls:9,.0f} self {selfc[f] / calls:7,.0f} calls/call {ncalls[f] / calls:6.2f}  {dem[f][:150]}')
