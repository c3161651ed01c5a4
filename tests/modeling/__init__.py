"""Tests of hf_seqmask.modeling."""
