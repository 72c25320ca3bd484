"""The supervisors' history: filters, keyset pages, one dial's story, the overview and its
charts, CSV export, recordings, and the seeding of large demo histories."""
