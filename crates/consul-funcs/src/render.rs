//! Running templates the way the agent does: each execution records what
//! it asked Vault for; what is not fetched yet makes `secret` return nil.
//! [`render`] is the one execute-then-fetch loop: it runs a set of
//! templates (a volume's files), fetches every missing answer of a round
//! concurrently, once each, and runs them again until nothing is missing,
//! at most [`Limits::max_rounds`](gotemplate::Limits::max_rounds) times.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use gotemplate::{Options, Template, TemplateError, Value};

use crate::funcs::{Execution, Funcs, PodEnv};
use crate::request::{SecretRequest, Secrets};

/// What one execution produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The bytes written.
    pub output: Vec<u8>,
    /// Every request the template made, in first-use order.
    pub used: Vec<SecretRequest>,
    /// Requests without an answer in the secrets given.
    pub missing: Vec<SecretRequest>,
}

/// One execution of `template` with the answers in `secrets`. The output
/// is final only when [`Outcome::missing`] is empty.
pub fn execute(
    template: &Template,
    funcs: &Funcs,
    options: &Options,
    secrets: &Secrets,
    env: &Arc<PodEnv>,
) -> Result<Outcome, TemplateError> {
    let mut execution = Execution::new(secrets, Arc::clone(env));
    let outcome = template.execute(funcs, &mut execution, options)?;
    let (used, missing) = execution.into_requests();
    Ok(Outcome {
        output: outcome.output,
        used,
        missing,
    })
}

/// Where a [`render`] keeps the answers it fetched.
pub trait Answers {
    /// What a fetch reports besides the value (e.g. a lease), kept by the
    /// store.
    type Fetched;
    /// The answers templates see.
    fn secrets(&self) -> &Secrets;
    /// Stores a fetched answer.
    fn insert(&mut self, request: SecretRequest, value: Value, fetched: Self::Fetched);
}

impl Answers for Secrets {
    type Fetched = ();
    fn secrets(&self) -> &Secrets {
        self
    }
    fn insert(&mut self, request: SecretRequest, value: Value, _: ()) {
        Secrets::insert(self, request, value);
    }
}

/// One template of a set rendered together, with its options.
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    /// The parsed template.
    pub template: &'a Template,
    /// How to execute it.
    pub options: &'a Options,
}

/// A finished rendering of a set of templates.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// Each job's output, in the order given.
    pub outputs: Vec<Vec<u8>>,
    /// Every request the final executions made (for refresh scheduling).
    pub used: BTreeSet<SecretRequest>,
    /// Executions it took (1 when nothing was missing).
    pub rounds: usize,
}

/// Why [`render`] failed.
#[derive(Debug, Clone, PartialEq)]
pub enum RenderError<E> {
    /// Job `index` failed to execute (in any round: the agent too fails on
    /// an error while data is still missing).
    Template {
        /// Which job.
        index: usize,
        /// Its error.
        error: TemplateError,
    },
    /// The caller could not fetch a request.
    Fetch {
        /// What was asked.
        request: SecretRequest,
        /// The caller's error.
        error: E,
    },
    /// New requests kept appearing after this many rounds.
    TooManyRounds(usize),
}

impl<E: fmt::Display> fmt::Display for RenderError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::Template { error, .. } => write!(f, "{error}"),
            RenderError::Fetch { request, error } => {
                write!(f, "fetching {}: {error}", request.path)
            }
            RenderError::TooManyRounds(n) => write!(
                f,
                "templates still ask for new secrets after {n} rounds (each depending on the last)"
            ),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for RenderError<E> {}

/// Executes every job until none asks for anything `answers` lacks: each
/// round's missing requests go to `fetch` together (their futures run
/// concurrently), once each, and the answers go into `answers`. Bounded by
/// the smallest `max_rounds` of the jobs' limits. Executions run between
/// fetches, never across an `.await`, so the future is `Send` when the
/// fetch futures are.
pub async fn render<A, E, F, Fut>(
    jobs: &[Job<'_>],
    funcs: &Funcs,
    env: &Arc<PodEnv>,
    answers: &mut A,
    mut fetch: F,
) -> Result<Rendered, RenderError<E>>
where
    A: Answers,
    F: FnMut(SecretRequest) -> Fut,
    Fut: Future<Output = Result<(Value, A::Fetched), E>>,
{
    let max_rounds = jobs
        .iter()
        .map(|job| job.options.limits.max_rounds)
        .min()
        .unwrap_or(1)
        .max(1);
    for round in 1..=max_rounds {
        let mut outputs = Vec::with_capacity(jobs.len());
        let mut used = BTreeSet::new();
        let mut missing = BTreeSet::new();
        for (index, job) in jobs.iter().enumerate() {
            let outcome = execute(job.template, funcs, job.options, answers.secrets(), env)
                .map_err(|error| RenderError::Template { index, error })?;
            used.extend(outcome.used);
            missing.extend(outcome.missing);
            outputs.push(outcome.output);
        }
        if missing.is_empty() {
            return Ok(Rendered {
                outputs,
                used,
                rounds: round,
            });
        }
        let fetches = missing.into_iter().map(|request| {
            let answer = fetch(request.clone());
            async move {
                match answer.await {
                    Ok((value, fetched)) => Ok((request, value, fetched)),
                    Err(error) => Err(RenderError::Fetch { request, error }),
                }
            }
        });
        for (request, value, fetched) in futures_util::future::try_join_all(fetches).await? {
            answers.insert(request, value, fetched);
        }
    }
    Err(RenderError::TooManyRounds(max_rounds))
}

/// [`render`] for callers whose answers are at hand (tests, previews of
/// fixed data): `fetch` answers at once, so the loop never waits.
pub fn render_ready<A, E>(
    jobs: &[Job<'_>],
    funcs: &Funcs,
    env: &Arc<PodEnv>,
    answers: &mut A,
    mut fetch: impl FnMut(&SecretRequest) -> Result<(Value, A::Fetched), E>,
) -> Result<Rendered, RenderError<E>>
where
    A: Answers,
{
    let future = render(jobs, funcs, env, answers, |request| {
        std::future::ready(fetch(&request))
    });
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        // Every fetch future is ready, so the first poll finishes.
        if let std::task::Poll::Ready(result) = future.as_mut().poll(&mut cx) {
            return result;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::secret_from_response;
    use gotemplate::decode_json;

    fn secret(body: &str) -> Value {
        secret_from_response(&decode_json(body).unwrap())
    }

    fn parse(text: &str) -> (Template, Funcs, Options) {
        let funcs = crate::standard();
        let options = Options::default();
        let template = Template::parse(text, &funcs, &options).unwrap();
        (template, funcs, options)
    }

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn the_loop_is_send_when_its_fetches_are() {
        let (t, funcs, options) = parse("{{ secret \"a\" }}");
        let env = Arc::new(PodEnv::new());
        let mut secrets = Secrets::new();
        let jobs = [Job {
            template: &t,
            options: &options,
        }];
        let future = render(&jobs, &funcs, &env, &mut secrets, |_| async {
            Ok::<_, String>((Value::Nil, ()))
        });
        assert_send(&future);
    }

    #[test]
    fn every_job_of_a_round_is_fetched_for_together_once_each() {
        let funcs = crate::standard();
        let options = Options::default();
        let a = Template::parse(
            "{{ with secret \"a\" }}{{ .Data.x }}{{ end }}",
            &funcs,
            &options,
        )
        .unwrap();
        let b = Template::parse(
            "{{ with secret \"a\" }}{{ .Data.x }}{{ end }}-{{ with secret \"b\" }}{{ .Data.x }}{{ end }}",
            &funcs,
            &options,
        )
        .unwrap();
        let mut fetched = Vec::new();
        let rendered = render_ready(
            &[
                Job {
                    template: &a,
                    options: &options,
                },
                Job {
                    template: &b,
                    options: &options,
                },
            ],
            &funcs,
            &Arc::new(PodEnv::new()),
            &mut Secrets::new(),
            |request| {
                fetched.push(request.path.clone());
                Ok::<_, String>((
                    secret(&format!(r#"{{"data":{{"x":"{}"}}}}"#, request.path)),
                    (),
                ))
            },
        )
        .unwrap();
        assert_eq!(fetched, ["a", "b"]);
        assert_eq!(rendered.outputs, [b"a".to_vec(), b"a-b".to_vec()]);
        assert_eq!(rendered.rounds, 2);
        assert_eq!(rendered.used.len(), 2);
    }

    #[test]
    fn fetch_errors_name_the_request() {
        let (t, funcs, options) = parse("{{ secret \"a/b\" }}");
        let e = render_ready(
            &[Job {
                template: &t,
                options: &options,
            }],
            &funcs,
            &Arc::new(PodEnv::new()),
            &mut Secrets::new(),
            |_| Err::<(Value, ()), _>("denied"),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "fetching a/b: denied");
    }

    #[test]
    fn endless_dependency_chains_stop_at_max_rounds() {
        let funcs = crate::standard();
        let mut options = Options::default();
        options.limits.max_rounds = 3;
        // Each answer names a new path to read.
        let t = Template::parse(
            "{{ with secret \"p0\" }}{{ with secret .Data.next }}{{ with secret .Data.next }}{{ with secret .Data.next }}{{ end }}{{ end }}{{ end }}{{ end }}",
            &funcs,
            &options,
        )
        .unwrap();
        let mut n = 0;
        let e = render_ready(
            &[Job {
                template: &t,
                options: &options,
            }],
            &funcs,
            &Arc::new(PodEnv::new()),
            &mut Secrets::new(),
            |_| {
                n += 1;
                Ok::<_, String>((secret(&format!(r#"{{"data":{{"next":"p{n}"}}}}"#)), ()))
            },
        )
        .unwrap_err();
        assert_eq!(e, RenderError::TooManyRounds(3));
    }
}
