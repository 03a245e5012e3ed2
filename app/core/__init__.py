"""Plain types shared by every layer: errors, events, cancellation, schedule maths,
platform paths. Nothing here does I/O beyond locating directories."""
