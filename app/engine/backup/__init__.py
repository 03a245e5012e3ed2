"""Backup: walk, read only what changed, pack new chunks, write trees, commit a snapshot.

Ordering is the crash-safety argument (docs/FORMAT.md): packs, then the index objects
naming them, then the snapshot. A backup killed at any point leaves only objects
that nothing references yet; the next run adopts finished packs that no index names,
so their chunks are not uploaded again.

One module per job: ``scan`` lists folders and counts totals, ``reader`` chunks and
seals changed files on worker threads, ``blobs`` deduplicates blobs and indexes the
packs they land in, ``trees`` turns a folder's entries into its tree, ``walker`` is
the depth-first pass that ties them together, and ``job`` runs one backup under the
vault lock and commits the snapshot.
"""
