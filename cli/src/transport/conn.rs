//! The incoming side of a connection, and the [`Transport`] rmcp serves over.
//!
//! A reader task reads capped lines, answers the ones that are no message itself (through the
//! outbox, waiting for room like any reply) and hands the messages to rmcp. Before it hands
//! over a request it takes one of the connection's request slots, and waits while none is free:
//! it then reads nothing more, so a client that floods requests is held back by its own
//! socket or pipe, not queued in the server.
//!
//! How long a slot is held: see [`Slots`](super::slots::Slots).

use std::io;

use rmcp::RoleServer;
use rmcp::model::{ClientNotification, ErrorCode, GetExtensions, JsonRpcMessage};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use tokio::io::{AsyncRead, BufReader};
use tokio::sync::mpsc;

use super::decode::{Decoded, decode, error_reply};
use super::lines::{LineReader, Read};
use super::link::{Fault, Link, peer_left};
use super::outbox::Outbox;
use super::slots::Slots;

/// Messages decoded but not yet taken by rmcp.
const HANDOVER: usize = 4;

/// Reads `input` until its end or until the connection is dropped, handing messages to
/// `rmcp` and answering the lines that are none.
pub async fn read_in<R: AsyncRead + Unpin>(
    input: R,
    rmcp: mpsc::Sender<RxJsonRpcMessage<RoleServer>>,
    outbox: Outbox,
    slots: Slots,
    max_line: usize,
    link: Link,
) {
    let mut lines = LineReader::new(BufReader::with_capacity(64 * 1024, input), max_line);
    let reading = async {
        loop {
            let decoded = match lines.next().await {
                Ok(Read::Eof) => return Ok(()),
                Ok(Read::TooLong) => Decoded::Reply(error_reply(
                    ErrorCode::PARSE_ERROR,
                    None,
                    format!(
                        "Parse error: message longer than {max_line} bytes (a JSON-RPC message is one line)"
                    ),
                )),
                Ok(Read::Line) => decode(lines.line()),
                Err(e) if peer_left(&e) => return Ok(()),
                Err(e) => return Err(Fault::read(&e)),
            };
            let decoded = match decoded {
                Decoded::Message(message) => admit(message, &slots).await,
                other => other,
            };
            match decoded {
                Decoded::Skip => {}
                Decoded::Reply(mut reply) => {
                    reply.push('\n');
                    if outbox.push(reply.into_bytes()).await.is_err() {
                        return Ok(());
                    }
                }
                Decoded::Message(message) => {
                    if rmcp.send(*message).await.is_err() {
                        return Ok(());
                    }
                }
            }
        }
    };
    let result = tokio::select! {
        biased;
        _ = link.dropped() => Ok(()),
        r = reading => r,
    };
    if let Err(fault) = result {
        link.drop_with(fault);
    }
    // Dropping `rmcp` is the end of input for rmcp.
}

/// Readies a message for rmcp: a request takes a slot (waiting for one), a cancel lets the
/// pending-reply table go of the cancelled request's slot. A request whose id belongs to one
/// still in progress is refused (rmcp would keep one reply of the two and drop the other).
async fn admit(mut message: Box<RxJsonRpcMessage<RoleServer>>, slots: &Slots) -> Decoded {
    match &mut *message {
        JsonRpcMessage::Request(req) => {
            if slots.in_progress(&req.id) {
                return Decoded::Reply(error_reply(
                    ErrorCode::INVALID_REQUEST,
                    Some(req.id.clone()),
                    format!(
                        "Invalid Request: id {} belongs to a request still in progress; give each request its own id",
                        req.id
                    ),
                ));
            }
            slots.take(&req.id, req.request.extensions_mut()).await;
        }
        JsonRpcMessage::Notification(n) => {
            if let ClientNotification::CancelledNotification(c) = &n.notification
                && let Some(id) = &c.params.request_id
            {
                slots.release(id);
            }
        }
        _ => {}
    }
    Decoded::Message(message)
}

/// The transport rmcp serves over: messages from [`read_in`], replies into the [`Outbox`].
pub struct LineTransport {
    pub incoming: mpsc::Receiver<RxJsonRpcMessage<RoleServer>>,
    pub outbox: Outbox,
    pub slots: Slots,
    pub link: Link,
}

impl Transport<RoleServer> for LineTransport {
    type Error = io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let answers = match &item {
            JsonRpcMessage::Response(r) => Some(r.id.clone()),
            JsonRpcMessage::Error(e) => e.id.clone(),
            _ => None,
        };
        // Serialized now: the message's own memory is freed before the wait for room.
        let line = serde_json::to_vec(&item).map(|mut line| {
            line.push(b'\n');
            line
        });
        drop(item);
        let (outbox, slots) = (self.outbox.clone(), self.slots.clone());
        async move {
            outbox.push(line?).await?;
            if let Some(id) = answers {
                slots.release(&id);
            }
            Ok(())
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        tokio::select! {
            biased;
            _ = self.link.dropped() => None,
            m = self.incoming.recv() => m,
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// The channel from [`read_in`] to the transport: [`HANDOVER`] messages at most.
pub fn handover() -> (
    mpsc::Sender<RxJsonRpcMessage<RoleServer>>,
    mpsc::Receiver<RxJsonRpcMessage<RoleServer>>,
) {
    mpsc::channel(HANDOVER)
}
