import ServiceLifecycle
import SluiceStore

/// The parts of a running Sluice as swift-service-lifecycle services, for one `ServiceGroup` (`sluice
/// run`). Each is already started (bound, opened) when the group runs, so a failure to bind is a clear
/// error at start-up, not a service dying later; each runs until graceful shutdown, then stops its
/// part. The group stops them in reverse order: the reloader, then the relay (it drains for the
/// grace period), then the metrics endpoint (so /readyz says "stopping" meanwhile), then the store.

/// The listeners and their sessions: on graceful shutdown (SIGTERM), no new connections, open
/// sessions finish for the grace period, the rest get `421 4.3.2`.
public struct RelayService: Service {
    let server: RelayServer

    public init(server: RelayServer) {
        self.server = server
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await server.shutdown(closingStore: false)
    }
}

/// `metrics listen`: /metrics, /healthz and /readyz until the relay has drained.
public struct MetricsService: Service {
    let endpoint: MetricsEndpoint

    public init(endpoint: MetricsEndpoint) {
        self.endpoint = endpoint
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await endpoint.close()
    }
}

/// The greylist store's connections (SQLite, or the PostgreSQL pool), closed last.
public struct GreylistStoreService: Service {
    let store: any GreylistStore

    public init(store: any GreylistStore) {
        self.store = store
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await store.close()
    }
}
