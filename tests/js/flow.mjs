// The JavaScript ACS SDKs against the emulator, as an app written for real ACS uses them:
// users and a room, connect, add a phone, play, recognize, send DTMF, record, hang up. Every
// callback is parsed with parseCallAutomationEvent, which reads only the first element of a
// POST, so each POST must carry exactly one event. Prints one JSON line: what was received.
//
// Environment: EMULATOR_URL, EMULATOR_KEY, PHONE, CALLER_ID; INSECURE=1 builds the clients with
// allowInsecureConnection (plain http). Over https, NODE_EXTRA_CA_CERTS names the emulator's CA.
import http from "node:http";
import { CallAutomationClient, parseCallAutomationEvent } from "@azure/communication-call-automation";
import { CommunicationIdentityClient } from "@azure/communication-identity";
import { RoomsClient } from "@azure/communication-rooms";

const emulator = process.env.EMULATOR_URL;
const connectionString = `endpoint=${emulator}/;accesskey=${process.env.EMULATOR_KEY}`;
const options = process.env.INSECURE === "1" ? { allowInsecureConnection: true } : {};
const phone = process.env.PHONE;
const callerId = process.env.CALLER_ID;
const WAIT_MS = 15000;

const received = []; // {path, length, kind}
const events = []; // parsed events, in arrival order

function silentWav(seconds) {
  const frames = Math.round(seconds * 16000);
  const data = Buffer.alloc(frames * 2);
  const header = Buffer.alloc(44);
  header.write("RIFF", 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write("WAVEfmt ", 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(16000, 24);
  header.writeUInt32LE(32000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

function serve() {
  const wav = silentWav(1);
  const server = http.createServer((request, response) => {
    if (request.method === "GET" && request.url === "/hello.wav") {
      response.writeHead(200, { "Content-Type": "audio/wav" });
      response.end(wav);
      return;
    }
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      const parsedBody = JSON.parse(body);
      const event = parseCallAutomationEvent(body);
      received.push({ path: request.url, length: parsedBody.length, kind: event.kind });
      events.push(event);
      response.writeHead(200);
      response.end();
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

async function waitFor(kind, count = 1) {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    const found = events.filter((e) => e.kind === kind);
    if (found.length >= count) return found[count - 1];
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no ${kind} within ${WAIT_MS} ms; received ${received.map((r) => r.kind).join(", ")}`);
}

async function control(method, path, body) {
  const response = await fetch(emulator + path, {
    method,
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? null : response.json();
}

async function main() {
  const server = await serve();
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    const identity = new CommunicationIdentityClient(connectionString, options);
    const presenter = await identity.createUser();
    const attendee = await identity.createUser();
    const rooms = new RoomsClient(connectionString, options);
    const room = await rooms.createRoom({
      pstnDialOutEnabled: true,
      participants: [
        { id: presenter, role: "Presenter" },
        { id: attendee, role: "Attendee" },
      ],
    });
    const roster = [];
    for await (const participant of rooms.listParticipants(room.id)) roster.push(participant.role);
    await control("PUT", `/emulator/phones/${encodeURIComponent(phone)}`, { answer: "accept", answerAfterSeconds: 1 });
    for (const user of [presenter, attendee]) {
      await control("POST", `/emulator/rooms/${room.id}/participants/${encodeURIComponent(user.communicationUserId)}:join`);
    }

    const client = new CallAutomationClient(connectionString, options);
    const connected = await client.connectCall({ kind: "roomCallLocator", id: room.id }, `${base}/callbacks`);
    const callConnected = await waitFor("CallConnected");
    await waitFor("ParticipantsUpdated");
    const connection = connected.callConnection;

    await connection.addParticipant({ targetParticipant: { phoneNumber: phone }, sourceCallIdNumber: { phoneNumber: callerId } });
    await waitFor("AddParticipantSucceeded");
    await waitFor("ParticipantsUpdated", 2);

    const media = connection.getCallMedia();
    await media.playToAll([{ kind: "fileSource", url: `${base}/hello.wav` }], { operationContext: "hello" });
    await waitFor("PlayCompleted");

    await media.startRecognizing({ phoneNumber: phone }, {
      kind: "callMediaRecognizeDtmfOptions",
      maxTonesToCollect: 1,
      initialSilenceTimeoutInSeconds: 60,
      operationContext: "menu",
    });
    await control("POST", `/emulator/rooms/${room.id}/participants/${encodeURIComponent("4:" + phone)}:dtmf`, { tones: "5" });
    const recognized = await waitFor("RecognizeCompleted");

    await media.sendDtmfTones(["one", "two"], { phoneNumber: phone }, { operationContext: "tones" });
    await waitFor("SendDtmfTonesCompleted");

    const recording = client.getCallRecording();
    const started = await recording.start({
      callLocator: { id: callConnected.serverCallId, kind: "serverCallLocator" },
      recordingStateCallbackEndpointUrl: `${base}/recording`,
      recordingContent: "audio",
      recordingChannel: "mixed",
      recordingFormat: "wav",
    });
    await waitFor("RecordingStateChanged");
    const state = await recording.getState(started.recordingId);
    await recording.stop(started.recordingId);
    await waitFor("RecordingStateChanged", 2);

    await connection.hangUp(true);
    await waitFor("CallDisconnected");

    console.log(JSON.stringify({
      received,
      roster,
      serverCallId: callConnected.serverCallId,
      recognizedTones: recognized.dtmfResult?.tones ?? null,
      recordingState: state.recordingState,
      recordingStates: events.filter((e) => e.kind === "RecordingStateChanged").map((e) => e.state),
      recordingId: started.recordingId,
    }));
  } finally {
    server.close();
  }
}

main().catch((error) => {
  console.log(JSON.stringify({ error: String(error?.stack ?? error), received }));
  process.exit(1);
});
