import platform
import subprocess
import sys

import pytest

# Run in a fresh interpreter: in a process whose heap already has holes, the pin could land in one of them and the
# freed blocks be at the heap's top, which free() alone gives back.
FREED_THEN_RELEASED = """
from pathlib import Path
from vasr.recipe.memory import release_freed_heap

def resident_mb():
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024

blocks = [bytes(3000) for _ in range(30_000)]  # ~90 MB of heap blocks, past pymalloc's small objects
pin = bytes(3000)  # allocated above them: the heap cannot simply shrink from its top
del blocks
before = resident_mb()
release_freed_heap()
print(before - resident_mb())
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_memory_freed_inside_the_heap_goes_back_to_the_system():
    """Blocks freed below a live one stay resident (glibc keeps them for reuse) until handed back."""
    released = subprocess.run([sys.executable, "-c", FREED_THEN_RELEASED], capture_output=True, text=True, check=True)
    assert float(released.stdout) > 50
