import Foundation
import NIOCore
import SluicePolicy
import SluiceSMTP

/// What goes upstream for one message, as a value: the trace header built from the session's values,
/// the header edits the content rules decided applied to the parsed header block, then the spooled
/// message from `skip` on and the final dot. Built by the client session; written by the upstream
/// connection. Testable without a socket.
public struct MessagePlan: Hashable, Sendable {
    public var hostname: String
    public var client: ClientIdentity
    public var greeting: Greeting
    /// The recipients the upstream accepted (the trace header names a single one).
    public var recipients: [ForwardPath]
    public var headerEdits: [HeaderEdit]
    /// The message's header block as the content rules parsed it (nil: no content rule ran).
    public var header: MessageHeader?
    /// Trace fields Sluice adds above its `Received:` (Authentication-Results, Received-SPF), in order;
    /// their values come folded and free of anything a client could inject.
    public var traceFields: [HeaderField]

    public init(hostname: String, client: ClientIdentity, greeting: Greeting, recipients: [ForwardPath],
                headerEdits: [HeaderEdit] = [], header: MessageHeader? = nil, traceFields: [HeaderField] = []) {
        self.traceFields = traceFields
        self.hostname = hostname
        self.client = client
        self.greeting = greeting
        self.recipients = recipients
        self.headerEdits = headerEdits
        self.header = header
    }

    /// The `Received:` header for this message, dated `date`. The reverse DNS name is left out until it
    /// is forward-confirmed (an unverified PTR name is the client's claim, not a fact); a name that an
    /// XCLIENT from a listed host gave is that host's word, and is written.
    public func trace(date: Date) -> TraceHeader {
        TraceHeader(hostname: hostname, helo: greeting.name, clientAddress: client.address, clientName: client.vouchedName,
                    sessionID: client.sessionID, esmtp: greeting.extended,
                    recipient: recipients.count == 1 ? recipients[0].description : nil, date: date, tls: client.tls)
    }

    /// Writes what precedes the spooled message into `buffer` (the trace header and, when header edits
    /// apply, the edited header block) and returns how many octets of the spooled message it replaces.
    public func writePrefix(date: Date, into buffer: inout ByteBuffer) -> Int {
        for field in traceFields {
            buffer.writeString(field.name)
            buffer.writeString(": ")
            buffer.writeString(field.value)
            buffer.writeString("\r\n")
        }
        trace(date: date).write(into: &buffer)
        guard !headerEdits.isEmpty, let header else { return 0 }
        buffer.writeBytes(header.applying(headerEdits))
        return header.length
    }
}
