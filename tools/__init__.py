"""Maintainer scripts (the release, the grading benchmark): not part of the installed rnnkit package."""
