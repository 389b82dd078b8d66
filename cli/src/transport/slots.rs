//! Request slots: how many requests of one connection are in progress at once.
//!
//! A request takes a slot before rmcp sees it (the reader waits for one). The slot is held by
//! two owners and freed when both let go:
//! - the pending-reply table, until the request's reply is in the outbox, or until the client
//!   cancels the request (rmcp then never sends its reply);
//! - the request's handler, for as long as it runs: the slot travels in the request's
//!   extensions, which rmcp moves into the handler's context, and [`Slotted`] holds it across
//!   the handler's whole future (a tool's future need not keep its context).
//!
//! So a reply that waits for room in the outbox keeps its slot, and a cancelled request frees
//! its slot exactly when its handler ends, whether or not the handler heeds the cancel.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rmcp::model::{Extensions, RequestId};
use rmcp::service::{NotificationContext, RequestContext, ServiceRole};
use rmcp::{ErrorData, RoleServer, Service};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// One request slot: the permit goes back when the last clone is dropped.
#[derive(Clone)]
struct Slot(#[allow(dead_code)] Arc<OwnedSemaphorePermit>);

/// The request slots of one connection.
#[derive(Clone)]
pub struct Slots {
    free: Arc<Semaphore>,
    pending: Arc<Mutex<HashMap<RequestId, Slot>>>,
}

impl Slots {
    pub fn new(n: usize) -> Slots {
        Slots {
            free: Arc::new(Semaphore::new(n.max(1))),
            pending: Arc::default(),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<RequestId, Slot>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a free slot and gives it to request `id` (`extensions`: the request's).
    pub async fn take(&self, id: &RequestId, extensions: &mut Extensions) {
        // The semaphore is never closed.
        let Ok(permit) = self.free.clone().acquire_owned().await else {
            return;
        };
        let slot = Slot(Arc::new(permit));
        extensions.insert(slot.clone());
        self.pending().insert(id.clone(), slot);
    }

    /// A request with this id is in progress (its reply not yet in the outbox).
    pub fn in_progress(&self, id: &RequestId) -> bool {
        self.pending().contains_key(id)
    }

    /// `id`'s reply is in the outbox, or the client cancelled `id`: the table lets go.
    pub fn release(&self, id: &RequestId) {
        self.pending().remove(id);
    }
}

/// A service whose request handlers hold their request's slot until they end.
pub struct Slotted<S>(pub S);

impl<S: Service<RoleServer>> Service<RoleServer> for Slotted<S> {
    async fn handle_request(
        &self,
        request: <RoleServer as ServiceRole>::PeerReq,
        mut context: RequestContext<RoleServer>,
    ) -> Result<<RoleServer as ServiceRole>::Resp, ErrorData> {
        let _slot = context.extensions.remove::<Slot>();
        self.0.handle_request(request, context).await
    }

    async fn handle_notification(
        &self,
        notification: <RoleServer as ServiceRole>::PeerNot,
        context: NotificationContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.0.handle_notification(notification, context).await
    }

    fn get_info(&self) -> <RoleServer as ServiceRole>::Info {
        self.0.get_info()
    }

    fn supported_protocol_versions(
        &self,
    ) -> std::borrow::Cow<'static, [rmcp::model::ProtocolVersion]> {
        self.0.supported_protocol_versions()
    }
}
