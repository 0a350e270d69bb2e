//! The listener: a connection of its own that hears of observations other
//! instances commit (`NOTIFY`), reconnects when it drops, and signals a
//! change after each (re)connection so that nothing missed is left behind.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, Config, NoTls};

/// Channel on which committed observations are announced.
pub(super) const CHANNEL: &str = "trygg_observations";

pub(super) async fn listen_loop(mut config: Config, changes: Arc<Notify>) {
    // Named apart so that operators (and tests) can tell it from the pool.
    config.application_name("trygg-listener");
    loop {
        match listen_once(&config, &changes).await {
            Ok(()) => tracing::warn!("PostgreSQL notification connection closed; reconnecting"),
            Err(e) => tracing::warn!(
                error = %crate::error_chain(&e),
                "cannot listen for PostgreSQL notifications"
            ),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Listens until the connection drops. After (re)connecting it signals a
/// change once, so that whatever was committed meanwhile is caught up.
async fn listen_once(config: &Config, changes: &Notify) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    let sql = format!("LISTEN {CHANNEL}");
    let listen = client.batch_execute(&sql);
    // The connection must be driven while LISTEN runs.
    let mut listen = pin!(listen);
    loop {
        tokio::select! {
            done = &mut listen => { done?; break; }
            message = messages.next() => match message {
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
        }
    }
    changes.notify_one();
    while let Some(message) = messages.next().await {
        if let AsyncMessage::Notification(_) = message? {
            changes.notify_one();
        }
    }
    Ok(())
}
