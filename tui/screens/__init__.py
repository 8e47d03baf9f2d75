"""The screens of backroom, one module each; each is a BackroomScreen (screens.base)."""
