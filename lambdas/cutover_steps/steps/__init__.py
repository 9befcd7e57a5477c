"""The steps' Lambda handlers: one module per step, named after its registry key (LoadRelease: load_release);
obsolete.py is the marking that CleanUp and TearDownPrepared share."""
