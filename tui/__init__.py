"""The Textual app and the command line of backroom.

Textual repaints a changed screen on a timer of period 1/TEXTUAL_FPS (default 60), read once
when Textual is imported; set here, before any module of the package can import Textual: at
120 a key waits at most ~8 ms for its frame instead of ~17. Only what changed is repainted,
so an idle screen still sends nothing over SSH. A value already in the environment wins."""

import os

os.environ.setdefault("TEXTUAL_FPS", "120")
