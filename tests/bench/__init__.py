"""Side-by-side benchmark of Keepsake against restic and Borg (``make bench``).

Owns the measuring instrument only: a deterministic data generator, the peer
installer, the step runner that measures wall/CPU/peak RSS of each tool step in its
own process, and the writer of ``docs/PERFORMANCE.md``. It is deliberately not part of
``make test``: timings on shared virtual machines are too noisy to assert on, so the
targets from the performance issue are reported as met or not, never asserted.
"""
