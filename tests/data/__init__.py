"""Tests of hf_seqmask.data."""
