//! Integration tests: the real `privstat` binary on the fixtures and on generated exports.
#![allow(
    clippy::disallowed_methods,
    reason = "tests write their own input files"
)]

mod audit;
mod bad_inputs;
mod cli;
mod crash;
mod dp;
mod excel;
mod imports;
mod loaders;
mod microdata;
mod pinned;
mod pipelines;
mod release;
mod report;
mod support;
