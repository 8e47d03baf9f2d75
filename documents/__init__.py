"""PDFs: packing slips, pick lists, invoices and credit notes, customer sheets, and where
they go (a folder, a CUPS printer). Sits above store: it reads frozen rows from
store.document_reads and never writes to the database."""
