//! One-template shorthands for the library's tests.

use std::sync::Arc;

use gotemplate::{Options, Template, TemplateError, Value};

use crate::funcs::{Funcs, PodEnv};
use crate::render::{Job, Outcome, RenderError, render_ready};
use crate::request::{SecretRequest, Secrets};

/// One execution with an empty Pod environment.
pub(crate) fn execute(
    template: &Template,
    funcs: &Funcs,
    secrets: &Secrets,
    options: &Options,
) -> Result<Outcome, TemplateError> {
    crate::render::execute(template, funcs, options, secrets, &Arc::new(PodEnv::new()))
}

/// What rendering one template gave.
#[derive(Debug)]
pub(crate) struct One {
    pub(crate) output: Vec<u8>,
    pub(crate) rounds: usize,
}

/// Renders one template with an empty Pod environment.
pub(crate) fn render<E>(
    template: &Template,
    funcs: &Funcs,
    options: &Options,
    secrets: &mut Secrets,
    fetch: impl FnMut(&SecretRequest) -> Result<Value, E>,
) -> Result<One, RenderError<E>> {
    render_in(template, funcs, options, &PodEnv::new(), secrets, fetch)
}

/// Renders one template in a Pod environment.
pub(crate) fn render_in<E>(
    template: &Template,
    funcs: &Funcs,
    options: &Options,
    env: &PodEnv,
    secrets: &mut Secrets,
    mut fetch: impl FnMut(&SecretRequest) -> Result<Value, E>,
) -> Result<One, RenderError<E>> {
    let job = Job { template, options };
    let rendered = render_ready(&[job], funcs, &Arc::new(env.clone()), secrets, |request| {
        fetch(request).map(|value| (value, ()))
    })?;
    Ok(One {
        output: rendered.outputs.into_iter().next().unwrap_or_default(),
        rounds: rendered.rounds,
    })
}
