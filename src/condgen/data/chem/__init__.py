"""Chemistry with RDKit, low in the stack so that data loaders, models (ORGAN's rewards) and metrics share
it: parsing SMILES as MOSES does, molecular properties (logP, QED, SAS, TPSA, MolWt), and a small process
pool for per-molecule work. RDKit is imported only when a function needs it."""
