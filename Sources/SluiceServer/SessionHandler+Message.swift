import Foundation
import NIOCore
import SluiceSMTP
import SluiceSession

/// The message path of a session: from the client's final dot, through the spool, to the upstream.
extension SessionHandler {
    /// The final dot arrived. A message on disk goes on only once every write reached the file: a spool
    /// that failed (disk full, directory gone) is a 4xx now, before anything goes upstream. A spool
    /// failure during DATA is never answered mid-message: the client is not reading replies then, and
    /// what it still sends would be taken for commands.
    func finishData(_ decoder: DataDecoder, spool: MessageSpool) {
        guard spool.isOnDisk, decoder.fault == nil else {
            return perform(session.dataFinished(size: decoder.size, fault: decoder.fault))
        }
        settlingSpool = true
        spool.written().assumeIsolated().whenComplete { result in
            self.settlingSpool = false
            guard !self.closed else { return }
            switch result {
            case .success:
                self.perform(self.session.dataFinished(size: decoder.size, fault: nil))
            case .failure(let error):
                self.logger.warning("\(self.sessionID): cannot spool message to \(self.configuration.spoolDirectory): \(error)")
                self.perform(self.session.spoolFailed(diskFull: MessageSpool.isDiskFull(error), size: decoder.size))
            }
            self.process()
        }
    }

    func sendMessage(greeting: Greeting, transaction: Transaction, edits: [HeaderEdit]) {
        guard let upstream, let spool else {
            upstreamFailed(.closed)
            return
        }
        let trace = TraceHeader(hostname: configuration.hostname, helo: greeting.name,
                                clientAddress: clientAddress, sessionID: sessionID, esmtp: greeting.extended,
                                recipient: transaction.recipients.count == 1 ? transaction.recipients[0].description : nil,
                                date: Date(), tls: tlsInfo)
        var header = upstream.allocator.buffer(capacity: 256)
        trace.write(into: &header)
        var skip = 0
        if !edits.isEmpty, let inspected = inspectedHeader {
            header.writeBytes(inspected.applying(edits))
            skip = inspected.length
        }
        armUpstreamTimer(after: timeouts.endOfData)
        spool.send(header: header, skip: skip, to: upstream).assumeIsolated().whenFailure { error in
            // Never send the final dot of a message that did not go out whole: drop the connection.
            self.logger.warning("\(self.sessionID): could not send message upstream: \(error)")
            upstream.close(promise: nil)
        }
    }
}
