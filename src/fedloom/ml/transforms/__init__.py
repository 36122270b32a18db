"""Local feature transforms (one party's own columns, nothing exchanged): scaling, one-hot
encoding, missing-value imputation, label encoding. numpy in, numpy out."""
