"""The Textual app and the command line of backroom: the only package that imports Textual."""
