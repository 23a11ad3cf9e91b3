//! Integration tests: the real `privstat` binary on the fixtures and on generated exports.

mod cli;
mod pipelines;
mod release;
mod support;
