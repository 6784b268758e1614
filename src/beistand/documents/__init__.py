"""PDF documents and letters of every app: the A4 layout (``layout``) and the body's letterhead
(``letterhead``). Case documents (reports), register letters and the statistics' annual report
and DPO records are built on these; keeping them here, below those apps, means none of them has
to import another for its layout."""
