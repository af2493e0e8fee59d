//! Where things are in a YAML file: the source span of every key and value
//! of every document, by path, and how a position inside a template maps
//! back to a line and column of the file.
//!
//! Values come from serde (the driver's YAML reader); this index only adds
//! positions, from an event parser that keeps them.

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle};

/// One step of a path into a document.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// `["spec", "configurations", 0, "data", ".gitconfig"]` and so on.
pub type Path = Vec<Step>;

/// Builds a path from keys and indexes: `yaml_path!["spec", "configurations", 0]`.
macro_rules! yaml_path {
    ($($step:expr),* $(,)?) => {
        vec![$($crate::cli::lint::positions::Step::from($step)),*]
    };
}
pub(crate) use yaml_path;

impl From<&str> for Step {
    fn from(key: &str) -> Step {
        Step::Key(key.to_owned())
    }
}

impl From<&String> for Step {
    fn from(key: &String) -> Step {
        Step::Key(key.clone())
    }
}

impl From<usize> for Step {
    fn from(index: usize) -> Step {
        Step::Index(index)
    }
}

/// A line and column of the file, both from 1; columns count bytes, as
/// Go's template positions do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: usize,
    pub col: usize,
}

/// How a value is written, which decides how its text maps to the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Scalar(ScalarStyle),
    Collection,
}

#[derive(Clone, Copy, Debug)]
struct ValueSpan {
    start: usize,
    end: usize,
    style: Style,
    /// Blank lines a block scalar starts with: its span starts after them.
    leading_newlines: usize,
    /// Lines of the value (at least 1).
    lines: usize,
}

/// The positions of one YAML document.
#[derive(Debug, Default)]
pub struct DocumentPositions {
    keys: HashMap<Path, usize>,
    values: HashMap<Path, ValueSpan>,
}

/// Where a position inside a template lies in the file; `exact` is false
/// when the value's YAML form (folded, or a flow scalar over several lines)
/// does not keep the template's lines, and the position is the value's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TemplatePosition {
    pub position: Position,
    pub exact: bool,
}

/// A YAML syntax error the event parser found, at its position.
#[derive(Debug)]
pub struct SyntaxError {
    pub position: Position,
    pub message: String,
}

/// The positions of every document of `text`, in order.
pub fn index(text: &str) -> Result<Vec<DocumentPositions>, SyntaxError> {
    let mut builder = Builder::default();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|err| SyntaxError {
            position: Position {
                line: err.marker().line(),
                col: err.marker().col() + 1,
            },
            message: err.info(),
        })?;
        let range = span.byte_range().unwrap_or(0..0);
        builder.event(&event, range.start, range.end);
    }
    Ok(builder.documents)
}

/// A collection the event walk is inside, and the step that leads to it
/// (none for the document's root).
struct Frame {
    step: Option<Step>,
    kind: FrameKind,
}

enum FrameKind {
    /// The key read and waiting for its value, if any.
    Mapping(Option<String>),
    /// The index of the next item.
    Sequence(usize),
}

#[derive(Default)]
struct Builder {
    documents: Vec<DocumentPositions>,
    frames: Vec<Frame>,
}

impl Builder {
    fn event(&mut self, event: &Event<'_>, start: usize, end: usize) {
        match event {
            Event::DocumentStart(..) => {
                self.documents.push(DocumentPositions::default());
                self.frames.clear();
            }
            Event::Scalar(value, style, ..) => {
                if let Some(Frame {
                    kind: FrameKind::Mapping(key @ None),
                    ..
                }) = self.frames.last_mut()
                {
                    *key = Some(value.to_string());
                    let mut path = self.path();
                    path.push(Step::Key(value.to_string()));
                    self.document().keys.insert(path, start);
                    return;
                }
                let leading_newlines = value.chars().take_while(|c| *c == '\n').count();
                self.value(ValueSpan {
                    start,
                    end,
                    style: Style::Scalar(*style),
                    leading_newlines,
                    lines: value.lines().count().max(1),
                });
            }
            Event::MappingStart(..) => {
                let step = self.value(ValueSpan::collection(start, end));
                self.frames.push(Frame {
                    step,
                    kind: FrameKind::Mapping(None),
                });
            }
            Event::SequenceStart(..) => {
                let step = self.value(ValueSpan::collection(start, end));
                self.frames.push(Frame {
                    step,
                    kind: FrameKind::Sequence(0),
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.frames.pop();
            }
            Event::Alias(_) | Event::UnresolvedAlias(_) => {
                self.value(ValueSpan::collection(start, end));
            }
            _ => {}
        }
    }

    fn path(&self) -> Path {
        self.frames
            .iter()
            .filter_map(|frame| frame.step.clone())
            .collect()
    }

    fn document(&mut self) -> &mut DocumentPositions {
        if self.documents.is_empty() {
            self.documents.push(DocumentPositions::default());
        }
        let last = self.documents.len() - 1;
        &mut self.documents[last]
    }

    /// Records a value at the current place, moves past it, and returns
    /// the step that leads to it.
    fn value(&mut self, span: ValueSpan) -> Option<Step> {
        let mut path = self.path();
        let step = match self.frames.last_mut().map(|frame| &mut frame.kind) {
            Some(FrameKind::Mapping(key)) => match key.take() {
                Some(key) => Step::Key(key),
                // A collection used as a key: nothing addresses what is in it.
                None => Step::Key(String::new()),
            },
            Some(FrameKind::Sequence(next)) => {
                *next += 1;
                Step::Index(*next - 1)
            }
            None => {
                self.document().values.insert(path, span);
                return None;
            }
        };
        path.push(step.clone());
        self.document().values.insert(path, span);
        Some(step)
    }
}

/// Line (from 1) and byte column (from 1) of a byte offset.
pub fn position_at(text: &str, offset: usize) -> Position {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |nl| nl + 1);
    Position {
        line: before.matches('\n').count() + 1,
        col: offset - line_start + 1,
    }
}

impl ValueSpan {
    fn collection(start: usize, end: usize) -> ValueSpan {
        ValueSpan {
            start,
            end,
            style: Style::Collection,
            leading_newlines: 0,
            lines: 1,
        }
    }
}

impl DocumentPositions {
    /// Where the key at the end of `path` is written.
    pub fn key(&self, text: &str, path: &Path) -> Option<Position> {
        self.keys.get(path).map(|offset| position_at(text, *offset))
    }

    /// Where the value at `path` starts.
    pub fn value(&self, text: &str, path: &Path) -> Option<Position> {
        self.values
            .get(path)
            .map(|span| position_at(text, span.start))
    }

    /// The key at `path` if written, else its value, else the nearest
    /// enclosing thing that is, else the document's first line.
    pub fn nearest(&self, text: &str, path: &Path) -> Position {
        let mut path = path.clone();
        loop {
            if let Some(position) = self.key(text, &path).or_else(|| self.value(text, &path)) {
                return position;
            }
            if path.pop().is_none() {
                return Position { line: 1, col: 1 };
            }
        }
    }

    /// Where byte `col0` (from 0) of line `line` (from 1) of the template
    /// held by the string value at `path` is written in the file.
    pub fn in_template(
        &self,
        text: &str,
        path: &Path,
        line: usize,
        col0: usize,
    ) -> Option<TemplatePosition> {
        let span = self.values.get(path)?;
        // Go places an unclosed action at the line after a final newline:
        // keep it on the template's last line, not the next key's.
        let line = line.min(span.lines);
        let start = position_at(text, span.start);
        let fallback = TemplatePosition {
            position: start,
            exact: false,
        };
        let Style::Scalar(style) = span.style else {
            return Some(fallback);
        };
        let raw = text.get(span.start..span.end)?;
        let mapped = match style {
            ScalarStyle::Literal => literal_position(start, span.leading_newlines, line, col0),
            ScalarStyle::Plain | ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted
                if !raw.contains('\n') =>
            {
                flow_position(raw, style, start, line, col0)
            }
            _ => None,
        };
        Some(mapped.map_or(fallback, |position| TemplatePosition {
            position,
            exact: true,
        }))
    }
}

/// A literal block keeps every line. Its span starts at its first line
/// that is not blank, after the indentation: template line N is that line
/// moved by N - 1 less the blank lines before it.
fn literal_position(
    start: Position,
    leading_newlines: usize,
    line: usize,
    col0: usize,
) -> Option<Position> {
    let line = (start.line + line).checked_sub(1 + leading_newlines)?;
    Some(Position {
        line,
        col: start.col + col0,
    })
}

/// A one-line flow scalar: walk its source and its decoded text together;
/// a double-quoted `\n` starts a new template line on the same file line.
fn flow_position(
    raw: &str,
    style: ScalarStyle,
    start: Position,
    line: usize,
    col0: usize,
) -> Option<Position> {
    let chars = decoded_chars(raw, style)?;
    let mut line_start = 0;
    let mut lines_seen = 1;
    for decoded in &chars {
        if lines_seen == line {
            break;
        }
        if decoded.char == '\n' {
            lines_seen += 1;
            line_start = decoded.offset + 1;
        }
    }
    if lines_seen != line {
        return None;
    }
    let wanted = line_start + col0;
    let raw_offset = chars.iter().find(|c| c.offset == wanted)?.raw;
    Some(Position {
        line: start.line,
        col: start.col + raw_offset,
    })
}

/// A character of a flow scalar's value, where it is in the value and in
/// the source (both in bytes, from the scalar's start).
struct DecodedChar {
    char: char,
    offset: usize,
    raw: usize,
}

/// The value's characters, then an end marker (`\0`); `None` for an
/// escape this walk does not know.
fn decoded_chars(raw: &str, style: ScalarStyle) -> Option<Vec<DecodedChar>> {
    let quote = usize::from(!matches!(style, ScalarStyle::Plain));
    let body = raw.get(quote..raw.len().checked_sub(quote)?)?;
    let mut decoded = Vec::new();
    let mut offset = 0;
    let mut chars = body.char_indices();
    while let Some((at, c)) = chars.next() {
        let value = match (style, c) {
            (ScalarStyle::SingleQuoted, '\'') => {
                chars.next();
                '\''
            }
            (ScalarStyle::DoubleQuoted, '\\') => unescape(&mut chars)?,
            _ => c,
        };
        decoded.push(DecodedChar {
            char: value,
            offset,
            raw: quote + at,
        });
        offset += value.len_utf8();
    }
    decoded.push(DecodedChar {
        char: '\0',
        offset,
        raw: quote + body.len(),
    });
    Some(decoded)
}

/// The character a double-quoted escape stands for (after its `\`).
fn unescape(chars: &mut std::str::CharIndices<'_>) -> Option<char> {
    let (_, escape) = chars.next()?;
    let digits = match escape {
        'x' => 2,
        'u' => 4,
        'U' => 8,
        'n' => return Some('\n'),
        't' | '\t' => return Some('\t'),
        'r' => return Some('\r'),
        '0' => return Some('\0'),
        'a' => return Some('\u{7}'),
        'b' => return Some('\u{8}'),
        'e' => return Some('\u{1b}'),
        'f' => return Some('\u{c}'),
        'v' => return Some('\u{b}'),
        'N' => return Some('\u{85}'),
        '_' => return Some('\u{a0}'),
        'L' => return Some('\u{2028}'),
        'P' => return Some('\u{2029}'),
        other => return Some(other),
    };
    let mut code = 0u32;
    for _ in 0..digits {
        code = code * 16 + chars.next()?.1.to_digit(16)?;
    }
    char::from_u32(code)
}

#[cfg(test)]
mod tests;
