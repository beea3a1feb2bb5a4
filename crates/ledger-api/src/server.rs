//! The connection loop: HTTP/1.1 over hyper with a header-read timeout, a keep-alive idle timeout,
//! a cap on open connections, and a graceful shutdown with a deadline.
//!
//! The cap must not let idle sockets lock everyone out: when it is reached, the connection that has
//! been quiet longest (nothing received or sent, no request being answered) is closed to make room
//! for the new one. Only when every connection is busy answering is a new one refused.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// The largest request head the HTTP parser buffers; beyond it the parser itself answers a bare
/// 431. Heads between [`crate::guards::MAX_REQUEST_HEADER_BYTES`] and this get a 431 problem.
pub const MAX_HEAD_BUFFER_BYTES: usize = 256 * 1024;

/// The most headers the HTTP parser accepts (a bare 431 beyond); between
/// [`crate::guards::MAX_REQUEST_HEADERS`] and this the answer is a 431 problem.
const MAX_PARSED_HEADERS: usize = 200;

/// How long the accept loop pauses after a failed accept (e.g. "too many open files"), so it does
/// not spin while the process is out of descriptors.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Settings of the connection loop (see [`crate::ApiConfig`] for their defaults and reasons).
#[derive(Debug, Clone)]
pub(crate) struct ConnectionSettings {
    pub header_read_timeout: Duration,
    pub keep_alive_idle_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_deadline: Duration,
}

/// What the loop knows of one open connection.
#[derive(Debug)]
struct Connection {
    /// Milliseconds since the loop started at which a byte was last received or sent.
    last_activity_ms: AtomicU64,
    /// Requests being answered on it.
    in_flight: AtomicUsize,
    /// Told to close (evicted, or shutting down while idle).
    close: Notify,
}

impl Connection {
    fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }
}

/// The open connections, by the order they were accepted.
#[derive(Debug, Default)]
struct Connections {
    open: Mutex<HashMap<u64, Arc<Connection>>>,
}

impl Connections {
    fn count(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn insert(&self, id: u64, connection: Arc<Connection>) {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, connection);
    }

    fn remove(&self, id: u64) {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }

    /// Closes the idle connection that has been quiet longest; false when every one is busy.
    fn evict_quietest_idle(&self) -> bool {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let quietest = open
            .iter()
            .filter(|(_, connection)| connection.is_idle())
            .min_by_key(|(_, connection)| connection.last_activity_ms.load(Ordering::Acquire))
            .map(|(id, _)| *id);
        match quietest.and_then(|id| open.remove(&id)) {
            Some(connection) => {
                connection.close.notify_one();
                true
            }
            None => false,
        }
    }

    /// Closes every connection with no request being answered (shutting down).
    fn close_idle(&self) {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        for connection in open.values().filter(|connection| connection.is_idle()) {
            connection.close.notify_one();
        }
    }
}

/// A TCP stream that notes when bytes last moved, so a quiet connection can be told from one
/// that is slowly sending or receiving.
struct WatchedStream {
    inner: TcpStream,
    connection: Arc<Connection>,
    epoch: Instant,
}

impl WatchedStream {
    fn touch(&self) {
        self.connection
            .last_activity_ms
            .store(elapsed_ms(self.epoch), Ordering::Release);
    }
}

fn elapsed_ms(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl AsyncRead for WatchedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buffer.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(context, buffer);
        if buffer.filled().len() > before {
            this.touch();
        }
        polled
    }
}

impl AsyncWrite for WatchedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(context, bytes);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            this.touch();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(context, buffers);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            this.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(context)
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(context)
    }
}

/// Counts a request as in flight on its connection until dropped.
struct InFlight(Arc<Connection>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serves `router` on `listener` until `shutdown` completes; then stops accepting, lets requests
/// being answered finish for up to the shutdown deadline, and drops whatever is left.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    settings: ConnectionSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let epoch = Instant::now();
    let connections = Arc::new(Connections::default());
    let (stopping_sender, stopping) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut next_id: u64 = 0;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
            // Reap finished connection tasks as they end so the set stays small.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(error = %error, "could not accept a connection");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        if connections.count() >= settings.max_connections && !connections.evict_quietest_idle() {
            tracing::warn!(
                peer = %peer,
                max_connections = settings.max_connections,
                "every connection is busy answering; refused a new one"
            );
            drop(stream);
            continue;
        }
        // Small answers leave in one write; waiting for more to coalesce only adds latency.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(error = %error, "could not set TCP_NODELAY");
        }
        next_id += 1;
        let id = next_id;
        let connection = Arc::new(Connection {
            last_activity_ms: AtomicU64::new(elapsed_ms(epoch)),
            in_flight: AtomicUsize::new(0),
            close: Notify::new(),
        });
        connections.insert(id, Arc::clone(&connection));
        let stream = WatchedStream {
            inner: stream,
            connection: Arc::clone(&connection),
            epoch,
        };
        let task = serve_connection(
            stream,
            peer,
            router.clone(),
            settings.clone(),
            connection,
            stopping.clone(),
            epoch,
        );
        let connections = Arc::clone(&connections);
        tasks.spawn(async move {
            task.await;
            connections.remove(id);
        });
    }
    drop(listener);
    let _ = stopping_sender.send(true);
    connections.close_idle();
    let drained = tokio::time::timeout(settings.shutdown_deadline, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = tasks.len(),
            "the shutdown deadline passed; closing the connections still open"
        );
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
}

async fn serve_connection(
    stream: WatchedStream,
    peer: SocketAddr,
    router: Router,
    settings: ConnectionSettings,
    connection: Arc<Connection>,
    mut stopping: watch::Receiver<bool>,
    epoch: Instant,
) {
    let counted = Arc::clone(&connection);
    let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
        counted.in_flight.fetch_add(1, Ordering::AcqRel);
        let in_flight = InFlight(Arc::clone(&counted));
        request.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        async move {
            let response = router.oneshot(request.map(axum::body::Body::new)).await;
            drop(in_flight);
            response
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout)
        .max_buf_size(MAX_HEAD_BUFFER_BYTES)
        .max_headers(MAX_PARSED_HEADERS)
        .keep_alive(true);
    let served = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(served);
    let idle_timeout_ms =
        u64::try_from(settings.keep_alive_idle_timeout.as_millis()).unwrap_or(u64::MAX);
    let mut shutting_down = *stopping.borrow();
    if shutting_down {
        return;
    }
    loop {
        // When the connection would become idle too long if nothing happens from now on.
        let quiet_for_ms =
            elapsed_ms(epoch).saturating_sub(connection.last_activity_ms.load(Ordering::Acquire));
        // A busy connection already quiet that long is looked at again a whole timeout later.
        let remaining_ms = match idle_timeout_ms.saturating_sub(quiet_for_ms) {
            0 => idle_timeout_ms,
            remaining => remaining,
        };
        let check_in = Duration::from_millis(remaining_ms.max(1));
        tokio::select! {
            result = served.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(peer = %peer, error = %error, "connection ended with an error");
                }
                return;
            }
            () = connection.close.notified() => return,
            changed = stopping.changed(), if !shutting_down => {
                shutting_down = true;
                if changed.is_ok() {
                    // Finish the request being answered, then close; idle ones are told apart by
                    // the loop and closed at once.
                    served.as_mut().graceful_shutdown();
                }
            }
            () = tokio::time::sleep(check_in), if !shutting_down => {
                let quiet_for_ms = elapsed_ms(epoch)
                    .saturating_sub(connection.last_activity_ms.load(Ordering::Acquire));
                if connection.is_idle() && quiet_for_ms >= idle_timeout_ms {
                    tracing::debug!(peer = %peer, "closing a connection idle too long");
                    return;
                }
            }
        }
    }
}
