"""Run a command and print its own peak memory: `python -m benchmarks.peak CMD…` → last line
`PEAK_RSS_KB <n>`. (RUSAGE_CHILDREN of this wrapper holds that one command and nothing else.)"""

import resource
import subprocess
import sys

result = subprocess.run(sys.argv[1:])
print(f"PEAK_RSS_KB {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
sys.exit(result.returncode)
