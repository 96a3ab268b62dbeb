//! `ecl._ecl`: the Rust client for Python (PyO3, abi3). Batching, `AT`,
//! `ID`, retries and exactly-once come from `ecl-client`; the console
//! scripts run `ecl-cli`'s code. Python only adapts: `ecl/__init__.py`
//! (the native API) and `event_count_logger` (the original's API).

mod logging_bridge;

use ecl_client::{fork_generation, ClientError, Config, Counts, EclClient, EventHandle, Group};
use ecl_core::protocol::ReplyValue;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple, PyType};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The fork generation (`ecl_client::fork_generation`) the Python side has
/// made new clients for (`ecl._after_fork_in_child`).
static HANDLED_FORKS: AtomicU64 = AtomicU64::new(0);
/// A thread is making the new clients after a fork.
static REBINDING: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// This thread is redirecting a call after a fork (no second time).
    static REDIRECTING: Cell<bool> = const { Cell::new(false) };
}

/// Makes sure the Python side has its own clients in this process, however
/// it was forked (uWSGI forks in C without Python's fork hooks): the first
/// thread to notice runs `ecl._after_fork_in_child()`, the others wait.
fn notice_fork(py: Python<'_>) -> PyResult<()> {
    while HANDLED_FORKS.load(Ordering::Acquire) != fork_generation() {
        if REBINDING
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            let rebound = py
                .import("ecl")
                .and_then(|ecl| ecl.getattr("_after_fork_in_child")?.call0().map(drop));
            REBINDING.store(false, Ordering::Release);
            return rebound;
        }
        py.detach(|| std::thread::sleep(Duration::from_millis(1)));
    }
    Ok(())
}

/// A call on a native object made before this process was forked: the
/// clients are made anew for this process, and the call goes to the Python
/// object (`view`) the native one serves, bound again.
fn redirect_after_fork<'py>(
    py: Python<'py>,
    view: &Option<Py<PyAny>>,
    method: &str,
    args: Bound<'py, PyTuple>,
) -> PyResult<Py<PyAny>> {
    if REDIRECTING.with(Cell::get) {
        return Err(to_py(ClientError::Flush(
            "no client for this forked process (see the `ecl` log)".into(),
        )));
    }
    REDIRECTING.with(|r| r.set(true));
    let result = (|| {
        notice_fork(py)?;
        let view = view
            .as_ref()
            .map(|weak| weak.call0(py))
            .transpose()?
            .filter(|v| !v.is_none(py))
            .ok_or_else(|| {
                to_py(ClientError::Flush(
                    "this object was made before fork(): make a new one in the child".into(),
                ))
            })?;
        let view = view.bind(py);
        view.call_method0("_bind")?;
        view.call_method1(method, args).map(Bound::unbind)
    })();
    REDIRECTING.with(|r| r.set(false));
    result
}

/// The Python exception classes of `ecl._errors`, by name.
fn error_class(py: Python<'_>, name: &str) -> PyResult<Py<PyType>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let module = MODULE.get_or_try_init(py, || py.import("ecl._errors").map(Bound::unbind))?;
    Ok(module
        .bind(py)
        .getattr(name)?
        .cast_into::<PyType>()?
        .unbind())
}

/// A client error as the matching Python exception: `ConnectionError` when
/// Redis cannot be reached (redis-py's too), `RefusedError` when the server
/// or the client refused the input, `ConfigError` for a bad config.
fn to_py(e: ClientError) -> PyErr {
    Python::attach(|py| {
        let name = match &e {
            ClientError::Redis(r)
                if r.is_io_error()
                    || r.is_timeout()
                    || r.is_connection_refusal()
                    || r.is_connection_dropped() =>
            {
                "ConnectionError"
            }
            ClientError::Redis(_) => "RefusedError",
            ClientError::Config(_) => "ConfigError",
            ClientError::Flush(_) => "ConnectionError",
            _ => "RefusedError",
        };
        match error_class(py, name) {
            Ok(class) => PyErr::from_type(class.into_bound(py), e.to_string()),
            Err(import) => import,
        }
    })
}

/// An event ID from Python: `str` (UTF-8) or `bytes`, borrowed.
fn with_event<R>(event: &Bound<'_, PyAny>, f: impl FnOnce(&[u8]) -> R) -> PyResult<R> {
    if let Ok(text) = event.cast::<PyString>() {
        // Borrowed: the UTF-8 Python keeps with the str (abi3 from 3.10).
        return Ok(f(text.to_str()?.as_bytes()));
    }
    if let Ok(bytes) = event.cast::<PyBytes>() {
        return Ok(f(bytes.as_bytes()));
    }
    Err(pyo3::exceptions::PyTypeError::new_err(
        "an event ID is a str or bytes",
    ))
}

/// A read of Redis with the GIL released, as a dict.
fn read<'py>(
    py: Python<'py>,
    f: impl FnOnce() -> Result<Counts, ClientError> + Send,
) -> PyResult<Bound<'py, PyDict>> {
    let counts = py.detach(f).map_err(to_py)?;
    counts_dict(py, counts)
}

fn counts_dict<'py>(py: Python<'py>, counts: Counts) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (event, n) in counts {
        dict.set_item(event, n)?;
    }
    Ok(dict)
}

fn reply_value<'py>(py: Python<'py>, value: &ReplyValue) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        ReplyValue::Int(n) => n.into_pyobject(py)?.into_any(),
        ReplyValue::Text(t) => t.into_pyobject(py)?.into_any(),
        ReplyValue::Maps(maps) => {
            let list = pyo3::types::PyList::empty(py);
            for map in maps {
                list.append(fields_dict(py, map)?)?;
            }
            list.into_any()
        }
    })
}

fn fields_dict<'py>(
    py: Python<'py>,
    fields: &[(String, ReplyValue)],
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (name, value) in fields {
        dict.set_item(name, reply_value(py, value)?)?;
    }
    Ok(dict)
}

/// One ECL client: a process's connection to Redis and its cached counts.
#[pyclass(frozen, module = "ecl._ecl")]
struct Client {
    inner: EclClient,
}

/// `view`: a weak reference to the Python object a native one serves.
type View = Option<Py<PyAny>>;

#[pymethods]
impl Client {
    /// A client from config text (YAML; JSON is YAML too) named `source` in
    /// messages. Raises `ConnectionError` when Redis does not answer (unless
    /// `check` is false: a client made again after a fork).
    #[new]
    #[pyo3(signature = (config, source, check=true))]
    fn new(py: Python<'_>, config: &str, source: &str, check: bool) -> PyResult<Client> {
        let config = Config::parse(config, source).map_err(|e| to_py(ClientError::Config(e)))?;
        for warning in &config.warnings {
            let logging = py.import("logging")?;
            logging
                .call_method1("getLogger", ("ecl",))?
                .call_method1("warning", (warning.as_str(),))?;
        }
        let inner = py.detach(|| -> Result<EclClient, ClientError> {
            let client = EclClient::from_config(&config)?;
            if check {
                client.ping()?;
            }
            Ok(client)
        });
        Ok(Client {
            inner: inner.map_err(to_py)?,
        })
    }

    /// The group `name`, serving the Python object `view` (a weak
    /// reference), to which calls go after a fork.
    #[pyo3(signature = (name, view=None))]
    fn group(&self, py: Python<'_>, name: &str, view: View) -> PyGroup {
        PyGroup {
            inner: py.detach(|| self.inner.group(name)),
            generation: self.inner.made_at_generation(),
            view,
        }
    }

    /// Declares the configured groups on the server now (clients do it by
    /// themselves before their first write).
    fn declare(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.declare_configured()).map_err(to_py)
    }

    /// Whether this process is a fork of the one that made the client.
    fn made_before_fork(&self) -> bool {
        self.inner.made_before_fork()
    }

    /// Sends every cached count and waits for Redis (at most `timeout` s,
    /// else the config's flush timeout).
    #[pyo3(signature = (timeout=None))]
    fn flush(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        let result = py.detach(|| match timeout {
            None => self.inner.flush(),
            Some(t) => self.inner.flush_within(Duration::from_secs_f64(t.max(0.0))),
        });
        result.map_err(to_py)
    }

    /// The groups on the server.
    fn server_groups(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        py.detach(|| self.inner.server_groups()).map_err(to_py)
    }
}

/// An event group.
#[pyclass(frozen, name = "Group", module = "ecl._ecl")]
struct PyGroup {
    inner: Group,
    /// The fork generation its client was made at.
    generation: u64,
    view: View,
}

impl PyGroup {
    /// Made in a parent of this process: calls go to the view, bound anew.
    fn stale(&self) -> bool {
        self.generation != fork_generation()
    }
}

#[pymethods]
impl PyGroup {
    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// Whether the group is known (in the config or on the server).
    #[getter]
    fn configured(&self) -> bool {
        self.inner.is_configured()
    }

    /// Counts `n` of `event`. Cached groups only touch process memory;
    /// direct ones wait for Redis with the GIL released.
    #[pyo3(signature = (event, n=1))]
    fn log(&self, py: Python<'_>, event: &Bound<'_, PyAny>, n: u64) -> PyResult<Py<PyAny>> {
        if self.stale() {
            let args = PyTuple::new(py, [event.clone(), n.into_pyobject(py)?.into_any()])?;
            return redirect_after_fork(py, &self.view, "log", args);
        }
        let result = if self.inner.is_cached() {
            with_event(event, |e| self.inner.log_n(e, n))?
        } else {
            let owned = with_event(event, <[u8]>::to_vec)?;
            py.detach(|| self.inner.log_n(&owned, n))
        };
        result.map(|()| py.None()).map_err(to_py)
    }

    /// A handle for one event, resolved once, serving the Python object
    /// `view` (a weak reference).
    #[pyo3(signature = (event, view=None))]
    fn event(&self, event: &Bound<'_, PyAny>, view: View) -> PyResult<PyEventHandle> {
        let handle = with_event(event, |e| self.inner.event(e))?.map_err(to_py)?;
        Ok(PyEventHandle {
            inner: handle,
            cached: self.inner.is_cached(),
            generation: self.generation,
            view,
        })
    }

    #[pyo3(signature = (interval=None))]
    fn last_counts<'py>(
        &self,
        py: Python<'py>,
        interval: Option<&str>,
    ) -> PyResult<Bound<'py, PyDict>> {
        read(py, || self.inner.last_counts(interval))
    }

    #[pyo3(signature = (interval=None))]
    fn current_counts<'py>(
        &self,
        py: Python<'py>,
        interval: Option<&str>,
    ) -> PyResult<Bound<'py, PyDict>> {
        read(py, || self.inner.current_counts(interval))
    }

    /// The kept closed windows whose start is in `[from_ms, to_ms]`, oldest
    /// first, at most `count`: a list of `(start_ms, {event: count})`.
    #[pyo3(signature = (interval=None, from_ms=0, to_ms=u64::MAX, count=None))]
    fn range<'py>(
        &self,
        py: Python<'py>,
        interval: Option<&str>,
        from_ms: u64,
        to_ms: u64,
        count: Option<usize>,
    ) -> PyResult<Vec<(u64, Bound<'py, PyDict>)>> {
        let windows = py
            .detach(|| self.inner.range(interval, from_ms, to_ms, count))
            .map_err(to_py)?;
        windows
            .into_iter()
            .map(|w| Ok((w.start_ms, counts_dict(py, w.counts)?)))
            .collect()
    }

    /// The counts of the kept windows whose start is in `[from_ms, to_ms]`, summed.
    #[pyo3(signature = (interval=None, from_ms=0, to_ms=u64::MAX))]
    fn sum<'py>(
        &self,
        py: Python<'py>,
        interval: Option<&str>,
        from_ms: u64,
        to_ms: u64,
    ) -> PyResult<Bound<'py, PyDict>> {
        read(py, || self.inner.sum(interval, from_ms, to_ms))
    }

    /// The `k` highest counts of a window, highest first: `(event, count)`
    /// pairs. `at`: a time in a kept window; else `current` or the last.
    #[pyo3(signature = (k, interval=None, at=None, current=false))]
    fn top(
        &self,
        py: Python<'_>,
        k: usize,
        interval: Option<&str>,
        at: Option<u64>,
        current: bool,
    ) -> PyResult<Vec<(String, u64)>> {
        let window = match (at, current) {
            (Some(t), _) => ecl_client::TopWindow::At(t),
            (None, true) => ecl_client::TopWindow::Current,
            (None, false) => ecl_client::TopWindow::Last,
        };
        py.detach(|| self.inner.top(interval, k, window))
            .map_err(to_py)
    }

    fn totals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        read(py, || self.inner.totals())
    }

    /// `ECL.INFO` as a dict: the fields core's protocol defines, with
    /// their types (ints, strings, and the intervals as a list of dicts).
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let info = py.detach(|| self.inner.info()).map_err(to_py)?;
        fields_dict(py, &info.to_reply())
    }

    /// The group's intervals as `(name, length in ms)`.
    fn intervals(&self) -> Vec<(String, u64)> {
        self.inner
            .intervals()
            .into_iter()
            .map(|i| (i.name, i.ms))
            .collect()
    }
}

/// A handle for one event.
#[pyclass(frozen, name = "EventHandle", module = "ecl._ecl")]
struct PyEventHandle {
    inner: EventHandle,
    cached: bool,
    generation: u64,
    view: View,
}

#[pymethods]
impl PyEventHandle {
    #[pyo3(signature = (n=1))]
    fn inc(&self, py: Python<'_>, n: u64) -> PyResult<Py<PyAny>> {
        if self.generation != fork_generation() {
            let args = PyTuple::new(py, [n])?;
            return redirect_after_fork(py, &self.view, "inc", args);
        }
        let result = if self.cached {
            self.inner.try_add(n)
        } else {
            py.detach(|| self.inner.try_add(n))
        };
        result.map(|()| py.None()).map_err(to_py)
    }
}

/// Called by `ecl._after_fork_in_child` (from Python's fork hook, or when a
/// native call notices a fork no hook reported): the Python side is making
/// new clients for this process's fork generation.
#[pyfunction]
fn after_fork_in_child() {
    HANDLED_FORKS.store(fork_generation(), Ordering::Release);
}

/// Makes new clients now if this process was forked since they were made
/// (what the Python wrappers call before using a client).
#[pyfunction(name = "notice_fork")]
fn py_notice_fork(py: Python<'_>) -> PyResult<()> {
    if HANDLED_FORKS.load(Ordering::Acquire) == fork_generation() {
        return Ok(());
    }
    notice_fork(py)
}

/// Runs a console script (`ecl`, `ecl_reader`, `ecl_log_event`) with these
/// arguments (the program name first); exits the process.
#[pyfunction]
fn run_script(py: Python<'_>, script: &str, argv: Vec<String>) -> PyResult<()> {
    let script = script.to_string();
    py.detach(move || match script.as_str() {
        "ecl_reader" => ecl_cli::seed_tools::ecl_reader(argv),
        "ecl_log_event" => ecl_cli::seed_tools::ecl_log_event(argv),
        _ => ecl_cli::app::run(argv),
    })
}

/// The interpreter that imported the module first: the module's statics
/// (cached classes, the client's state) belong to it, so another
/// interpreter of the process (a mod_wsgi application group) may not import
/// it (PyO3's own check does not cover every way of importing).
static OWNER_INTERPRETER: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(-1);

fn check_interpreter() -> PyResult<()> {
    // SAFETY: called during the module's import, attached to the
    // importing interpreter.
    let current =
        unsafe { pyo3::ffi::PyInterpreterState_GetID(pyo3::ffi::PyInterpreterState_Get()) };
    match OWNER_INTERPRETER.compare_exchange(-1, current, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => Ok(()),
        Err(owner) if owner == current => Ok(()),
        Err(_) => Err(pyo3::exceptions::PyImportError::new_err(
            "ECL's native part is in use by another interpreter of this process (PyO3 modules do not support subinterpreters)",
        )),
    }
}

#[pymodule]
fn _ecl(m: &Bound<'_, PyModule>) -> PyResult<()> {
    check_interpreter()?;
    logging_bridge::install();
    m.add_class::<Client>()?;
    m.add_class::<PyGroup>()?;
    m.add_class::<PyEventHandle>()?;
    m.add_function(wrap_pyfunction!(after_fork_in_child, m)?)?;
    m.add_function(wrap_pyfunction!(py_notice_fork, m)?)?;
    m.add_function(wrap_pyfunction!(run_script, m)?)?;
    Ok(())
}
