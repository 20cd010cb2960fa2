//! Connections: how many are served at once, how long a peer may stall, and
//! which request heads are refused before hyper sees them.
//!
//! Each connection carries one request (no keep-alive), so the head this
//! module reads and checks is the only one on the connection.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};

use crate::routes::{self, State};

/// Larger request heads are refused (431); ours are a few hundred bytes.
const MAX_HEAD_BYTES: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;
/// Refused connections closed gently at once; past this a refusal is dropped
/// right after its 503, so a storm still costs no task or file beyond these.
const LINGERING_AT_ONCE: usize = 16;
/// How long, and how many bytes, a refused client's request is read and
/// thrown away before its connection is closed.
const LINGER_FOR: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    /// The whole request head must arrive within this.
    pub header_timeout: Duration,
    /// A connection that moves no byte either way for this long is dropped.
    pub idle_timeout: Duration,
}

pub async fn serve(listener: TcpListener, state: Arc<State>, limits: Limits) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let lingering = Arc::new(Semaphore::new(LINGERING_AT_ONCE));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: pause instead of spinning.
                routes::log_error(&format!("cannot accept a connection: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            // Refused at once, without a task or a read: a new socket's send
            // buffer is empty, so this one write does not block.
            let _ = stream.try_write(BUSY);
            if let Ok(permit) = Arc::clone(&lingering).try_acquire_owned() {
                tokio::spawn(async move {
                    close_after_busy(stream).await;
                    drop(permit);
                });
            }
            continue;
        };
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            connection(stream, state, limits).await;
            drop(slot);
        });
    }
}

const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Type: text/plain\r\nContent-Length: 32\r\nConnection: close\r\n\r\ntoo many connections; try later\n";

/// Closing a socket with unread request bytes makes Linux send a reset, and
/// the reset can make the client discard the 503 before reading it. So the
/// sending side is closed first (the client gets the 503 and its end), and
/// what the client sends is read and thrown away until it closes, briefly
/// and boundedly.
async fn close_after_busy(mut stream: TcpStream) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(LINGER_FOR, async {
        let mut discarded = 0;
        let mut chunk = [0u8; 4096];
        while discarded < LINGER_BYTES {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => discarded += n,
            }
        }
    })
    .await;
}

/// Serves the one request of a connection: its head is read and checked
/// here, then hyper and [`routes::handle`] answer it. Generic over the stream
/// so the fuzz target can drive it with bytes in memory.
pub async fn connection<S>(stream: S, state: Arc<State>, limits: Limits)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut io = TimedIo::new(stream, limits.idle_timeout);
    let head = match tokio::time::timeout(limits.header_timeout, read_head(&mut io)).await {
        Err(_) => {
            reply_raw(&mut io, 408, "the request head took too long").await;
            return;
        }
        Ok(Err(_)) => return,
        Ok(Ok(Head::Closed)) => return,
        Ok(Ok(Head::Refused {
            status,
            reason,
            line,
        })) => {
            if let Some((method, path)) = line {
                routes::log_request(&method, &path, status);
            }
            reply_raw(&mut io, status, reason).await;
            return;
        }
        Ok(Ok(Head::Complete(bytes))) => bytes,
    };
    io.replay(head);
    let service = service_fn(move |request| {
        let state = Arc::clone(&state);
        async move { Ok::<_, Infallible>(routes::handle(&state, request).await) }
    });
    let _ = http1::Builder::new()
        .keep_alive(false)
        // A client that half-closes after its request still gets the reply.
        .half_close(true)
        .serve_connection(TokioIo::new(io), service)
        .await;
}

enum Head {
    /// The peer closed or sent nothing usable; nothing to answer.
    Closed,
    Refused {
        status: u16,
        reason: &'static str,
        line: Option<(String, String)>,
    },
    /// Every byte read so far, head first, for hyper to parse again.
    Complete(Vec<u8>),
}

async fn read_head<S: AsyncRead + AsyncWrite + Unpin>(io: &mut TimedIo<S>) -> io::Result<Head> {
    let mut bytes = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = io.read(&mut chunk).await?;
        if n == 0 {
            return Ok(Head::Closed);
        }
        bytes.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&bytes) {
            Ok(httparse::Status::Complete(_)) => {
                let line = Some((
                    request.method.unwrap_or("").to_owned(),
                    request.path.unwrap_or("").to_owned(),
                ));
                return Ok(match ambiguous_framing(request.headers) {
                    Some(reason) => Head::Refused {
                        status: 400,
                        reason,
                        line,
                    },
                    None => Head::Complete(bytes),
                });
            }
            Ok(httparse::Status::Partial) if bytes.len() < MAX_HEAD_BYTES => {}
            Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => {
                return Ok(Head::Refused {
                    status: 431,
                    reason: "the request head is too large",
                    line: None,
                });
            }
            Err(_) => {
                return Ok(Head::Refused {
                    status: 400,
                    reason: "not an HTTP/1 request",
                    line: None,
                });
            }
        }
    }
}

/// Framing two parsers could read differently (RFC 9112 §6.3) is refused
/// outright, even where one reading is allowed, so no body length is a guess.
fn ambiguous_framing(headers: &[httparse::Header<'_>]) -> Option<&'static str> {
    let named = |name: &'static str| {
        headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
    };
    let lengths: Vec<_> = named("content-length").collect();
    if lengths.len() > 1 {
        return Some("more than one Content-Length");
    }
    if !lengths.is_empty() && named("transfer-encoding").next().is_some() {
        return Some("both Content-Length and Transfer-Encoding");
    }
    if let Some(length) = lengths.first()
        && (length.value.is_empty()
            || !length.value.iter().all(u8::is_ascii_digit)
            || std::str::from_utf8(length.value)
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .is_none())
    {
        return Some("Content-Length is not a number of bytes");
    }
    None
}

async fn reply_raw<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut TimedIo<S>,
    status: u16,
    reason: &str,
) {
    let phrase = match status {
        400 => "Bad Request",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    };
    let body = format!("{reason}\n");
    let response = format!(
        "HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if io.write_all(response.as_bytes()).await.is_ok() {
        let _ = io.shutdown().await;
    }
}

/// A TCP stream that fails with `TimedOut` once neither direction has moved
/// a byte for `idle` while someone waits on it: a peer that trickles or never
/// reads holds only its own connection, and only that long. It first replays
/// the request head that was read to check it.
struct TimedIo<S> {
    stream: S,
    replay: Vec<u8>,
    replayed: usize,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl<S> TimedIo<S> {
    fn new(stream: S, idle: Duration) -> Self {
        TimedIo {
            stream,
            replay: Vec::new(),
            replayed: 0,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
        }
    }

    fn replay(&mut self, bytes: Vec<u8>) {
        self.replay = bytes;
        self.replayed = 0;
    }

    fn progressed(&mut self) {
        let next = Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }

    fn stalled<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        ready!(self.deadline.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the peer moved no data for too long",
        )))
    }

    fn track<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match polled {
            Poll::Ready(result) => {
                self.progressed();
                Poll::Ready(result)
            }
            Poll::Pending => self.stalled(cx),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TimedIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.replayed < this.replay.len() {
            let rest = &this.replay[this.replayed..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.replayed += n;
            return Poll::Ready(Ok(()));
        }
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        this.track(cx, polled)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TimedIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.track(cx, polled)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_flush(cx);
        this.track(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_shutdown(cx);
        this.track(cx, polled)
    }
}

#[cfg(test)]
mod tests {
    use super::ambiguous_framing;

    fn check(headers: &[(&str, &str)]) -> Option<&'static str> {
        let headers: Vec<_> = headers
            .iter()
            .map(|(name, value)| httparse::Header {
                name,
                value: value.as_bytes(),
            })
            .collect();
        ambiguous_framing(&headers)
    }

    #[test]
    fn only_one_plain_length_or_chunked_is_accepted() {
        assert_eq!(check(&[("Content-Length", "12")]), None);
        assert_eq!(check(&[("Transfer-Encoding", "chunked")]), None);
        assert!(check(&[("Content-Length", "1"), ("content-length", "1")]).is_some());
        assert!(check(&[("Content-Length", "1"), ("Transfer-Encoding", "chunked")]).is_some());
        for bad in ["-1", "+1", "1,1", "", " ", "99999999999999999999999"] {
            assert!(check(&[("Content-Length", bad)]).is_some(), "{bad:?}");
        }
    }
}
