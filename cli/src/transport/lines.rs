//! Newline-delimited input with a length cap: a line longer than the cap is read to its end
//! and reported as too long, never held in memory.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// One read.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// A whole line (without its `\n`) is in the reader's buffer.
    Line,
    /// A line longer than the cap was skipped to its end.
    TooLong,
    /// The input ended. An unterminated last line is delivered as a [`Read::Line`] first.
    Eof,
}

/// Reads lines of at most `max` bytes (the `\n` not counted) from `input`, into one reused
/// buffer.
pub struct LineReader<R> {
    input: R,
    max: usize,
    line: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    pub fn new(input: R, max: usize) -> LineReader<R> {
        LineReader {
            input,
            max,
            line: Vec::new(),
        }
    }

    /// The line of the last [`Read::Line`].
    pub fn line(&self) -> &[u8] {
        &self.line
    }

    /// Reads the next line. Not cancel-safe: call it from one task that runs it to completion.
    pub async fn next(&mut self) -> std::io::Result<Read> {
        self.line.clear();
        let mut too_long = false;
        loop {
            let chunk = self.input.fill_buf().await?;
            if chunk.is_empty() {
                return Ok(if too_long {
                    Read::TooLong
                } else if self.line.is_empty() {
                    Read::Eof
                } else {
                    Read::Line
                });
            }
            let newline = chunk.iter().position(|&b| b == b'\n');
            let body = newline.unwrap_or(chunk.len());
            if !too_long {
                if self.line.len() + body > self.max {
                    too_long = true;
                    self.line = Vec::new();
                } else {
                    self.line.extend_from_slice(&chunk[..body]);
                }
            }
            self.input.consume(newline.map_or(body, |i| i + 1));
            if newline.is_some() {
                return Ok(if too_long { Read::TooLong } else { Read::Line });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::BufReader;

    #[tokio::test(flavor = "current_thread")]
    async fn long_lines_are_skipped_and_reading_goes_on() {
        let data = b"short\n0123456789abcdef\nok\n12345678\n\nno-newline".to_vec();
        // A 4-byte buffer: every line spans several reads.
        let mut r = LineReader::new(BufReader::with_capacity(4, &data[..]), 8);
        let mut got = Vec::new();
        loop {
            match r.next().await.unwrap() {
                Read::Line => got.push(String::from_utf8(r.line().to_vec()).unwrap()),
                Read::TooLong => got.push("<too long>".into()),
                Read::Eof => break,
            }
        }
        assert_eq!(
            got,
            ["short", "<too long>", "ok", "12345678", "", "<too long>"]
        );
    }

    /// A line longer than the cap is never held: the buffer stays within the cap.
    #[tokio::test(flavor = "current_thread")]
    async fn a_long_line_is_not_buffered() {
        let mut data = vec![b'x'; 1 << 20];
        data.extend_from_slice(b"\nend\n");
        let mut r = LineReader::new(BufReader::with_capacity(4096, &data[..]), 100);
        assert_eq!(r.next().await.unwrap(), Read::TooLong);
        assert!(r.line.capacity() <= 4096, "{}", r.line.capacity());
        assert_eq!(r.next().await.unwrap(), Read::Line);
        assert_eq!(r.line(), b"end");
        assert_eq!(r.next().await.unwrap(), Read::Eof);
    }
}
