#!/usr/bin/env python3
"""Who calls a function, and how often per request. Usage: callers.py DUMP CALLS REGEX [TOP]"""
import collections, re, subprocess, sys
path, calls, pat = sys.argv[1], int(sys.argv[2]), re.compile(sys.argv[3])
top = int(sys.argv[4]) if len(sys.argv) > 4 else 25
names = {}
callers = collections.defaultdict(collections.Counter)
fn = cfn = None
def nm(spec):
    m = re.match(r'\((\d+)\)\s*(.*)', spec)
    if m.group(2): names[m.group(1)] = m.group(2)
    return names[m.group(1)]
for line in open(path):
    if line.startswith('fn='): fn = nm(line[3:].strip())
    elif line.startswith('cfn='): cfn = nm(line[4:].strip())
    elif line.startswith('calls='): callers[cfn][fn] += int(line.split()[0][6:])
dem = lambda s: subprocess.run(['swift', 'demangle', '--simplified', s], capture_output=True, text=True).stdout.strip()
for t in [n for n in callers if pat.search(n)]:
    print('==', t[:100], f'{sum(callers[t].values()) / calls:.2f}/call')
    for c, k in callers[t].most_common(top):
        print(f'   {k / calls:6.2f} {dem(c)[:170]}')
