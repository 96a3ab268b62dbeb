//! `ecl top`: a live full-screen view of a group — per event the current
//! window's count, the last window's, the rate per second and a sparkline
//! of the kept windows — refreshed every second (`--every`); `--once`
//! prints one frame as text, for scripts.
//!
//! Reading Redis happens on a thread of its own, so the screen never
//! freezes: when Redis stops answering, the view says so and keeps trying.
//! Keys: `q` (or Ctrl-C) quits, `s` changes the sort, `g` the group, `i` the
//! interval. The terminal is restored on exit, on Ctrl-C and on a panic.

use crate::CliError;
use ecl_client::{Config, EclClient, TopWindow};
use std::fmt::Write as _;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Events shown at most (of a large group: the top ones, `ECL.TOP`).
const MOST_EVENTS: usize = 40;
/// Kept windows in a sparkline at most.
const SPARK_WINDOWS: usize = 30;
const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// How rows are sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Current,
    Last,
    Name,
}

impl Sort {
    fn next(self) -> Sort {
        match self {
            Sort::Current => Sort::Last,
            Sort::Last => Sort::Name,
            Sort::Name => Sort::Current,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Sort::Current => "current",
            Sort::Last => "last",
            Sort::Name => "event",
        }
    }
}

/// What the view shows: which group and interval, sorted how.
#[derive(Debug, Clone)]
pub struct Selection {
    pub group: Option<String>,
    pub interval: Option<String>,
    pub sort: Sort,
    /// Moves asked by keys, applied by the reader (which knows the lists).
    next_group: bool,
    next_interval: bool,
}

/// One event's row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub event: String,
    pub current: u64,
    pub last: u64,
    pub rate: f64,
    pub spark: String,
}

/// One frame of the view.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    pub title: String,
    /// `None`: Redis answered; else what went wrong.
    pub trouble: Option<String>,
    pub rows: Vec<Row>,
    pub footer: String,
}

/// Reads one frame for `selection` (and settles the group and interval).
fn read_frame(client: &EclClient, config: &Config, selection: &mut Selection) -> Frame {
    let groups = match crate::all_groups(config, client) {
        Ok(groups) if !groups.is_empty() => groups,
        Ok(_) => return trouble(selection, "no group on the server"),
        Err(e) => return trouble(selection, e.message()),
    };
    let mut position = selection
        .group
        .as_ref()
        .and_then(|g| groups.iter().position(|x| x == g))
        .unwrap_or(0);
    if std::mem::take(&mut selection.next_group) {
        position = (position + 1) % groups.len();
        selection.interval = None;
    }
    let name = groups[position].clone();
    selection.group = Some(name.clone());
    let group = client.group(&name);
    let info = match group.info() {
        Ok(info) => info,
        Err(e) => return trouble(selection, &e.to_string()),
    };
    let intervals: Vec<String> = info.intervals.iter().map(|i| i.name.clone()).collect();
    let mut at = selection
        .interval
        .as_ref()
        .and_then(|i| intervals.iter().position(|x| x == i))
        .unwrap_or(0);
    if std::mem::take(&mut selection.next_interval) {
        at = (at + 1) % intervals.len().max(1);
    }
    let Some(interval_info) = info.intervals.get(at) else {
        return trouble(selection, "the group has no interval");
    };
    let interval = interval_info.name.clone();
    selection.interval = Some(interval.clone());
    let read = || -> Result<Vec<Row>, ecl_client::ClientError> {
        let events = info.declared_events + info.auto_declared_events;
        let (current, last) = if events as usize > MOST_EVENTS {
            (
                group.top(Some(&interval), MOST_EVENTS, TopWindow::Current)?,
                group.top(Some(&interval), MOST_EVENTS, TopWindow::Last)?,
            )
        } else {
            (
                group.current_counts(Some(&interval))?,
                group.last_counts(Some(&interval))?,
            )
        };
        let from = interval_info
            .current_start_ms
            .saturating_sub(interval_info.length_ms * SPARK_WINDOWS as u64);
        let windows = group
            .range(Some(&interval), from, u64::MAX, None)
            .unwrap_or_default();
        let seconds = interval_info.length_ms as f64 / 1000.0;
        let mut names: Vec<String> = current
            .iter()
            .chain(&last)
            .map(|(e, _)| e.clone())
            .collect();
        names.sort();
        names.dedup();
        let find = |counts: &[(String, u64)], e: &str| {
            counts.iter().find(|(x, _)| x == e).map_or(0, |p| p.1)
        };
        Ok(names
            .into_iter()
            .map(|event| {
                let series: Vec<u64> = windows.iter().map(|w| find(&w.counts, &event)).collect();
                let last_n = find(&last, &event);
                Row {
                    current: find(&current, &event),
                    last: last_n,
                    rate: last_n as f64 / seconds,
                    spark: sparkline(&series),
                    event,
                }
            })
            .collect())
    };
    let title = format!(
        "ECL top · group {name} ({}/{}) · per {interval} ({}/{}) · sort by {}",
        position + 1,
        groups.len(),
        at + 1,
        intervals.len(),
        selection.sort.label()
    );
    match read() {
        Ok(mut rows) => {
            sort_rows(&mut rows, selection.sort);
            Frame {
                title,
                trouble: None,
                rows,
                footer: format!(
                    "{} events · history {} · q quit · s sort · g group · i interval",
                    info.declared_events + info.auto_declared_events,
                    if info.history_ms > 0 {
                        format!("{} s", info.history_ms / 1000)
                    } else {
                        "last window".into()
                    }
                ),
            }
        }
        Err(e) => Frame {
            title,
            ..trouble(selection, &e.to_string())
        },
    }
}

fn trouble(selection: &Selection, why: &str) -> Frame {
    Frame {
        title: format!("ECL top · {}", selection.group.as_deref().unwrap_or("")),
        trouble: Some(format!("Redis not answering: {why} (retrying)")),
        rows: Vec::new(),
        footer: "q quit".into(),
    }
}

fn sort_rows(rows: &mut [Row], sort: Sort) {
    match sort {
        Sort::Current => rows.sort_by(|a, b| b.current.cmp(&a.current).then(a.event.cmp(&b.event))),
        Sort::Last => rows.sort_by(|a, b| b.last.cmp(&a.last).then(a.event.cmp(&b.event))),
        Sort::Name => rows.sort_by(|a, b| a.event.cmp(&b.event)),
    }
}

/// A sparkline of counts, scaled to the highest.
pub fn sparkline(series: &[u64]) -> String {
    let max = series.iter().copied().max().unwrap_or(0);
    series
        .iter()
        .map(|&n| {
            if max == 0 {
                SPARKS[0]
            } else {
                SPARKS[((n as u128 * 7) / max as u128) as usize]
            }
        })
        .collect()
}

/// A frame as plain text, `width` columns wide (`--once`, and the rows of
/// the live view).
pub fn render_text(frame: &Frame, width: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", cut(&frame.title, width));
    if let Some(trouble) = &frame.trouble {
        let _ = writeln!(out, "{}", cut(trouble, width));
    }
    let _ = writeln!(out, "{}", header(width));
    for row in &frame.rows {
        let _ = writeln!(out, "{}", row_text(row, width));
    }
    let _ = writeln!(out, "{}", cut(&frame.footer, width));
    out
}

fn columns(width: usize) -> (usize, usize) {
    let spark = if width >= 80 {
        SPARK_WINDOWS.min(width.saturating_sub(60))
    } else {
        10
    };
    let event = width.saturating_sub(10 + 10 + 10 + spark + 4).max(8);
    (event, spark)
}

fn header(width: usize) -> String {
    let (event, spark) = columns(width);
    cut(
        &format!(
            "{:<event$} {:>10}{:>10}{:>10} {:<spark$}",
            "EVENT", "CURRENT", "LAST", "RATE/S", "KEPT WINDOWS"
        ),
        width,
    )
}

fn row_text(row: &Row, width: usize) -> String {
    let (event, spark) = columns(width);
    let spark_text: String = row
        .spark
        .chars()
        .rev()
        .take(spark)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    cut(
        &format!(
            "{:<event$} {:>10}{:>10}{:>10.2} {}",
            cut(&row.event, event),
            row.current,
            row.last,
            row.rate,
            spark_text
        ),
        width,
    )
}

fn cut(text: &str, width: usize) -> String {
    text.chars().take(width).collect()
}

/// `ecl top`: the live view until `q`; with `once`, one frame on stdout.
pub fn run(
    config: &Config,
    group: Option<String>,
    interval: Option<String>,
    every: Duration,
    once: bool,
) -> Result<String, CliError> {
    let selection = Selection {
        group,
        interval,
        sort: Sort::Current,
        next_group: false,
        next_interval: false,
    };
    if once {
        let client = crate::client(config)?;
        let mut selection = selection;
        let frame = read_frame(&client, config, &mut selection);
        let width = crossterm::terminal::size()
            .map_or(100, |(w, _)| w as usize)
            .max(60);
        return Ok(render_text(&frame, width));
    }
    live(config, selection, every)
}

fn live(config: &Config, selection: Selection, every: Duration) -> Result<String, CliError> {
    use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
    // Each read bounded: a hung Redis shows as such within a second or two.
    let mut config = config.clone();
    config.redis.timeout = Some(
        config
            .redis
            .response_timeout()
            .min(every.max(Duration::from_secs(1))),
    );
    config.redis.connect_timeout = Some(config.redis.connect_timeout().min(Duration::from_secs(1)));
    let client = EclClient::from_config(&config)?;
    let selection = Arc::new(Mutex::new(selection));
    let (tx, rx) = mpsc::channel::<Frame>();
    let wake = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    {
        let (selection, wake) = (selection.clone(), wake.clone());
        std::thread::Builder::new()
            .name("ecl-top-reader".into())
            .spawn(move || loop {
                let mut current = selection.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let frame = read_frame(&client, &config, &mut current);
                {
                    let mut shared = selection.lock().unwrap_or_else(|e| e.into_inner());
                    shared.group = current.group;
                    shared.interval = current.interval;
                }
                if tx.send(frame).is_err() {
                    return;
                }
                let (lock, cond) = &*wake;
                let asked = lock.lock().unwrap_or_else(|e| e.into_inner());
                let mut asked = cond
                    .wait_timeout_while(asked, every, |asked| !*asked)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
                *asked = false;
            })
            .map_err(|e| CliError::Runtime(format!("cannot start the reader: {e}")))?;
    }
    let poke = || {
        let (lock, cond) = &*wake;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cond.notify_one();
    };
    let mut terminal = ratatui::init(); // restores the terminal on a panic too
    let mut frame = Frame {
        title: "ECL top · connecting…".into(),
        ..Frame::default()
    };
    let mut last_draw = Instant::now() - Duration::from_secs(1);
    let result = loop {
        while let Ok(next) = rx.try_recv() {
            frame = next;
            last_draw = Instant::now() - Duration::from_secs(1);
        }
        if last_draw.elapsed() >= Duration::from_millis(200) {
            if let Err(e) = terminal.draw(|f| draw(f, &frame)) {
                break Err(CliError::Runtime(format!("cannot draw: {e}")));
            }
            last_draw = Instant::now();
        }
        match event::poll(Duration::from_millis(100)) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => break Err(CliError::Runtime(format!("terminal: {e}"))),
        }
        let Ok(Event::Key(key)) = event::read() else {
            continue;
        };
        if key.kind != KeyEventKind::Press {
            continue;
        }
        let mut s = selection.lock().unwrap_or_else(|e| e.into_inner());
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => break Ok(String::new()),
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                break Ok(String::new())
            }
            KeyCode::Char('s') => {
                s.sort = s.sort.next();
                sort_rows(&mut frame.rows, s.sort);
                frame.title = frame
                    .title
                    .rsplit_once("sort by ")
                    .map_or(frame.title.clone(), |(head, _)| {
                        format!("{head}sort by {}", s.sort.label())
                    });
                last_draw = Instant::now() - Duration::from_secs(1);
            }
            KeyCode::Char('g') => s.next_group = true,
            KeyCode::Char('i') => s.next_interval = true,
            _ => continue,
        }
        drop(s);
        poke();
    };
    ratatui::restore();
    result
}

fn draw(f: &mut ratatui::Frame<'_>, frame: &Frame) {
    use ratatui::layout::{Constraint, Layout};
    use ratatui::style::{Color, Modifier, Style};
    use ratatui::widgets::{Paragraph, Row as TableRow, Table};
    let area = f.area();
    let [title, status, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    f.render_widget(
        Paragraph::new(frame.title.as_str()).style(Style::default().add_modifier(Modifier::BOLD)),
        title,
    );
    let (status_text, status_style) = match &frame.trouble {
        Some(t) => (t.as_str(), Style::default().fg(Color::White).bg(Color::Red)),
        None => ("Redis answering", Style::default().fg(Color::Green)),
    };
    f.render_widget(Paragraph::new(status_text).style(status_style), status);
    let (event_width, spark_width) = columns(area.width as usize);
    let rows = frame.rows.iter().map(|r| {
        let spark: String = r
            .spark
            .chars()
            .rev()
            .take(spark_width)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        TableRow::new(vec![
            r.event.clone(),
            format!("{:>10}", r.current),
            format!("{:>10}", r.last),
            format!("{:>10.2}", r.rate),
            spark,
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(event_width as u16),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Min(spark_width as u16),
        ],
    )
    .header(
        TableRow::new(vec![
            "EVENT",
            "   CURRENT",
            "      LAST",
            "    RATE/S",
            "KEPT WINDOWS",
        ])
        .style(Style::default().add_modifier(Modifier::REVERSED)),
    );
    f.render_widget(table, body);
    f.render_widget(Paragraph::new(frame.footer.as_str()), footer);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_to_the_highest() {
        assert_eq!(sparkline(&[0, 1, 2, 4, 8]), "▁▁▂▄█");
        assert_eq!(sparkline(&[0, 0]), "▁▁");
        assert_eq!(sparkline(&[]), "");
    }

    #[test]
    fn a_frame_prints_its_rows_in_80_columns() {
        let frame = Frame {
            title: "ECL top".into(),
            trouble: None,
            rows: vec![Row {
                event: "<script>".into(),
                current: 3,
                last: 7,
                rate: 0.5,
                spark: "▁█".into(),
            }],
            footer: "q quit".into(),
        };
        let text = render_text(&frame, 80);
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        assert!(text.contains("<script>") && text.contains("0.50"), "{text}");
    }
}
