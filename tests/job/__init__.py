"""Tests of hf_seqmask.job."""
